#!/usr/bin/env bash
# A small supervisor for one lab site, run inside the site's namespace: it runs `edgedns serve`,
# and when the node exits for any reason runs `edgedns announce withdraw` (what systemd's
# ExecStopPost does in production), waits a moment and starts it again. It also keeps
# `edgedns guard` running. Stops when DIR/stop exists.
set -u
NODE=$1 MAIN=$2 DIR=$3
CONF=$DIR/edgedns.yaml
PAUSE=${LAB_RESTART_PAUSE:-2}

guard_loop() {
  while [ ! -e "$DIR/stop" ]; do
    "$NODE" "$MAIN" guard --config "$CONF" >>"$DIR/guard.log" 2>&1 &
    echo $! > "$DIR/guard.pid"
    wait $!
    sleep 0.5
  done
}
guard_loop &
GUARD_LOOP=$!
trap 'touch "$DIR/stop"; kill $GUARD_LOOP 2>/dev/null; [ -f "$DIR/guard.pid" ] && kill "$(cat "$DIR/guard.pid")" 2>/dev/null; [ -f "$DIR/edgedns.pid" ] && kill "$(cat "$DIR/edgedns.pid")" 2>/dev/null; exit 0' TERM INT

while [ ! -e "$DIR/stop" ]; do
  "$NODE" "$MAIN" serve --config "$CONF" >>"$DIR/node.log" 2>&1 &
  pid=$!
  echo $pid > "$DIR/edgedns.pid"
  wait $pid
  code=$?
  echo "{\"time\":\"$(date -u +%FT%T.%3NZ)\",\"msg\":\"supervisor: node exited\",\"code\":$code}" >> "$DIR/node.log"
  "$NODE" "$MAIN" announce withdraw --config "$CONF" >>"$DIR/node.log" 2>&1
  [ -e "$DIR/stop" ] && break
  sleep "$PAUSE"
done
