#!/bin/bash
# ExaBGP `process` for edgedns: passes the API lines that edgedns writes into FIFO to ExaBGP (our
# stdout). Install as /etc/exabgp/edgedns-fifo.sh; exabgp.conf runs it with the FIFO's path.
#
# - Makes the FIFO when nothing is at its path, and refuses to run (exit 1, a line on stderr) when
#   something else is there: a regular file would be replayed for ever (announce, withdraw,
#   announce, … a flapping route) and may be an operator's, so it is neither read nor removed.
#   ExaBGP restarts a process that exits, and stops itself after 5 exits within about a minute,
#   which withdraws what it announced: fail safe, and loud.
# - Opens the FIFO read-write, so the reader never sees an end of file when edgedns closes it or
#   restarts: one `cat`, no loop.
# - ExaBGP answers every command on our stdin ("done": api.ack, on by default) and blocks once
#   64 KiB of answers are unread, so they are read and thrown away. The end of that stdin means
#   ExaBGP is gone (4.2 does not always signal its processes when it stops): then the FIFO's
#   reader is stopped too, so that no orphan keeps reading edgedns' lines with nobody to pass
#   them to.
set -u
fifo=${1:?usage: edgedns-fifo.sh FIFO}
if [ ! -e "$fifo" ] && [ ! -L "$fifo" ]; then
  mkfifo -m 0620 "$fifo" || exit 1
fi
if [ ! -p "$fifo" ]; then
  echo "edgedns-fifo.sh: $fifo exists and is not a FIFO: not reading it (a file would be replayed for ever); remove it and this process makes the FIFO" >&2
  exit 1
fi

cat <>"$fifo" &
reader=$!
# An asynchronous command's stdin is /dev/null unless redirected: hand it ours through fd 3.
exec 3<&0
cat <&3 >/dev/null &
answers=$!
exec 3<&-

stop() {
  kill "$reader" "$answers" 2>/dev/null
  exit "${1:-0}"
}
trap 'stop 0' TERM INT HUP
# Whichever ends first: ExaBGP went away (our stdin closed), or the reader died (ExaBGP restarts us).
wait -n
if kill -0 "$reader" 2>/dev/null; then stop 0; fi
echo "edgedns-fifo.sh: the reader of $fifo stopped" >&2
stop 1
