#!/usr/bin/env bash
# The multi-site anycast lab in network namespaces: a client, a router and N sites. Each site has
# 192.0.2.53/32 and 2001:db8::53/128 on lo, its own BIRD 2 speaking eBGP with BFD to the router's
# BIRD, the real `edgedns serve` with the bird adapter under a supervisor (which runs
# `edgedns announce withdraw` when the node exits, as systemd's ExecStopPost does), and
# `edgedns guard`.
#
#   deploy/lab/lab.sh up        build it (idempotent); LAB_SITES=3, LAB_MODE=prepend|ecmp
#   deploy/lab/lab.sh status    health of every site, the router's route, an answer from the client
#   deploy/lab/lab.sh down      remove every namespace and process it made (by pid)
#
# Needs root, iproute2 and bird2. Everything stays inside the namespaces.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
P=${LAB_PREFIX:-edl}
N=${LAB_SITES:-3}
MODE=${LAB_MODE:-prepend}
DIR=${LAB_DIR:-$ROOT/.tmp/lab}
NODE=${NODE:-$(command -v node)}
MAIN="$ROOT/dist/main.js"
SERVICE4=192.0.2.53
SERVICE6=2001:db8::53

die() { echo "lab: $*" >&2; exit 1; }
need() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
  ip netns list >/dev/null 2>&1 || die "needs iproute2 with network namespace support"
  command -v bird >/dev/null && command -v birdc >/dev/null || die "needs BIRD 2 (Debian: apt-get install bird2)"
  [ -x "$MAIN" ] || [ -f "$MAIN" ] || die "build first: make build"
}
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
site_addr() { echo "198.51.100.$((4 * $1 - 2))"; }
router_addr() { echo "198.51.100.$((4 * $1 - 3))"; }

write_router_bird() {
  local f=$DIR/router/bird.conf merge=""
  [ "$MODE" = ecmp ] && merge="merge paths on;"
  {
    echo "router id 203.0.113.1;"
    echo "protocol device {}"
    echo "protocol kernel { ipv4 { import none; export all; }; $merge }"
    echo "protocol bfd { interface \"*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }"
    echo "template bgp site { local as 65000; hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5; bfd on; ipv4 { import all; export none; }; }"
    for i in $(seq 1 "$N"); do
      echo "protocol bgp s$i from site { local $(router_addr "$i"); neighbor $(site_addr "$i") as $((65000 + i)); }"
    done
  } > "$f"
}

write_site_bird() {
  local i=$1 d=$DIR/s$1 prepend=""
  # Site preference by AS-path prepend: site 1 is shortest, so it is chosen; ECMP: all equal.
  if [ "$MODE" = prepend ]; then for _ in $(seq 2 "$i"); do prepend="$prepend bgp_path.prepend($((65000 + i)));"; done; fi
  cat > "$d/bird.conf" <<CONF
router id $(site_addr "$i");
protocol device {}
protocol static edgedns4 {
  ipv4;
  include "$d/routes4.conf";
}
protocol static edgedns6 {
  ipv6;
  include "$d/routes6.conf";
}
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
filter service_out { if net ~ [ $SERVICE4/32 ] then { $prepend accept; } reject; }
protocol bgp uplink {
  local $(site_addr "$i") as $((65000 + i));
  neighbor $(router_addr "$i") as 65000;
  hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
  bfd on;
  ipv4 { import none; export filter service_out; };
}
CONF
}

write_site_config() {
  local i=$1 d=$DIR/s$1
  # One DNS cookie secret for the whole fleet (README "DNS cookies"): a client that anycast moves
  # to another site keeps a valid cookie.
  [ -s "$DIR/cookie.secret" ] || (umask 077; od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$DIR/cookie.secret")
  # The same config at every site except site.id.
  cat > "$d/edgedns.yaml" <<CONF
site: { id: site$i }
listen: ["$SERVICE4:53", "[$SERVICE6]:53", "127.0.0.1:53"]
zones: { dir: $ROOT/zones }
upstreams: []
cookies: { secretFile: $DIR/cookie.secret }
health: { drainFile: $d/drain }
announce:
  prefixes: [$SERVICE4/32]
  adapter: bird
  bird: { includeFile: $d/routes4.conf, includeFile6: $d/routes6.conf, socket: $d/bird.ctl }
  shutdownLinger: 2s
guard: { interval: 100ms, timeout: 150ms, fall: 3 }
admin: { listen: 127.0.0.1:9153, socket: $d/admin.sock }  # sites share /run: a socket each
log: { level: info }
CONF
}

start_site_processes() {
  local i=$1 d=$DIR/s$1
  if [ ! -f "$d/bird.pid" ] || ! kill -0 "$(cat "$d/bird.pid")" 2>/dev/null; then
    ns "$P-s$i" bird -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
  else
    birdc -s "$d/bird.ctl" configure >/dev/null   # running: apply the config written above
  fi
  if [ ! -f "$d/supervisor.pid" ] || ! kill -0 "$(cat "$d/supervisor.pid")" 2>/dev/null; then
    rm -f "$d/stop"
    ns "$P-s$i" setsid "$HERE/supervise.sh" "$NODE" "$MAIN" "$d" </dev/null >>"$d/supervisor.log" 2>&1 &
    echo $! > "$d/supervisor.pid"
  fi
}

up() {
  need
  mkdir -p "$DIR/router" "$DIR/client"
  ip netns list | grep -qw "$P-router" || ip netns add "$P-router"
  ip netns list | grep -qw "$P-client" || ip netns add "$P-client"
  ns "$P-router" ip link set lo up
  ns "$P-client" ip link set lo up
  ns "$P-router" sysctl -qw net.ipv4.ip_forward=1
  if ! ns "$P-client" ip link show "${P}c" >/dev/null 2>&1; then
    ip link add "${P}c" netns "$P-client" type veth peer name "${P}rc" netns "$P-router"
    ns "$P-client" ip addr add 203.0.113.10/24 dev "${P}c"
    ns "$P-router" ip addr add 203.0.113.1/24 dev "${P}rc"
    ns "$P-client" ip link set "${P}c" up
    ns "$P-router" ip link set "${P}rc" up
    ns "$P-client" ip route add default via 203.0.113.1
  fi
  for i in $(seq 1 "$N"); do
    local s="$P-s$i" d=$DIR/s$i
    mkdir -p "$d"
    ip netns list | grep -qw "$s" || ip netns add "$s"
    ns "$s" ip link set lo up
    if ! ns "$s" ip link show "${P}s$i" >/dev/null 2>&1; then
      ip link add "${P}s$i" netns "$s" type veth peer name "${P}r$i" netns "$P-router"
      ns "$s" ip addr add "$(site_addr "$i")/30" dev "${P}s$i"
      ns "$P-router" ip addr add "$(router_addr "$i")/30" dev "${P}r$i"
      ns "$s" ip link set "${P}s$i" up
      ns "$P-router" ip link set "${P}r$i" up
      # The service address on lo (this kernel has no dummy links).
      ns "$s" ip addr add "$SERVICE4/32" dev lo
      ns "$s" ip addr add "$SERVICE6/128" dev lo
      ns "$s" ip route add default via "$(router_addr "$i")"
    fi
    [ -f "$d/routes4.conf" ] || : > "$d/routes4.conf"
    [ -f "$d/routes6.conf" ] || : > "$d/routes6.conf"
    write_site_bird "$i"
    write_site_config "$i"
  done
  write_router_bird
  if [ ! -f "$DIR/router/bird.pid" ] || ! kill -0 "$(cat "$DIR/router/bird.pid")" 2>/dev/null; then
    ns "$P-router" bird -c "$DIR/router/bird.conf" -s "$DIR/router/bird.ctl" -P "$DIR/router/bird.pid"
  else
    birdc -s "$DIR/router/bird.ctl" configure >/dev/null
  fi
  for i in $(seq 1 "$N"); do start_site_processes "$i"; done
  echo "$N" > "$DIR/sites"
  echo "$MODE" > "$DIR/mode"
  # Wait until the client gets answers through the router (BGP up, a site announcing).
  for _ in $(seq 1 150); do
    if ns "$P-client" dig +time=1 +tries=1 +short +nsid "@$SERVICE4" www.example.test >/dev/null 2>&1; then
      echo "lab up: $N sites ($MODE), service $SERVICE4 from $P-client; state in $DIR"
      return 0
    fi
    sleep 0.2
  done
  die "the lab came up but $SERVICE4 does not answer from the client yet; see $DIR/s*/node.log"
}

status() {
  [ -f "$DIR/sites" ] || die "no lab (run: $0 up)"
  local n; n=$(cat "$DIR/sites")
  for i in $(seq 1 "$n"); do
    echo "== site$i"
    ns "$P-s$i" "$NODE" "$MAIN" status --admin http://127.0.0.1:9153 2>&1 | grep -E '^(site|ready|health|announce)' || echo "   (node not answering)"
  done
  echo "== router: route to $SERVICE4"
  birdc -s "$DIR/router/bird.ctl" show route "$SERVICE4/32" 2>&1 | tail -n +2
  echo "== client: dig @$SERVICE4 +nsid"
  ns "$P-client" dig +time=1 +tries=1 +nsid "@$SERVICE4" www.example.test | grep -E 'NSID|status|IN\s+A' || true
}

kill_pidfile() {
  local f=$1 sig=${2:-TERM}
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}

down() {
  [ "$(id -u)" = 0 ] || die "needs root"
  local n=${LAB_SITES:-3}
  [ -f "$DIR/sites" ] && n=$(cat "$DIR/sites")
  for i in $(seq 1 "$n"); do
    local d=$DIR/s$i
    [ -d "$d" ] || continue
    touch "$d/stop"
    kill_pidfile "$d/supervisor.pid"
    kill_pidfile "$d/guard.pid"
    kill_pidfile "$d/edgedns.pid"
    kill_pidfile "$d/bird.pid"
  done
  kill_pidfile "$DIR/router/bird.pid"
  for i in $(seq 1 "$n"); do ip netns del "$P-s$i" 2>/dev/null || true; done
  ip netns del "$P-router" 2>/dev/null || true
  ip netns del "$P-client" 2>/dev/null || true
  rm -f "$DIR/sites"
  echo "lab down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
