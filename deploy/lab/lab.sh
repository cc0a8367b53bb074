#!/usr/bin/env bash
# The multi-site anycast lab in network namespaces: a client, a router and N sites. Each site has
# 192.0.2.53/32 and 2001:db8::53/128 on lo, its own BIRD 2 speaking eBGP with BFD to the router's
# BIRD, the real `edgedns serve` with the bird adapter under a supervisor (which runs
# `edgedns announce withdraw` when the node exits, as systemd's ExecStopPost does), and
# `edgedns guard`. Each node also answers on its site's unicast uplink address (SITE:53, where its
# peers probe it) and serves its admin endpoint there (SITE:9153). The router's namespace holds an
# upstream resolver every site shares (Unbound on 198.51.100.253, every name under fwd.test), and
# the client's link a second address for load (198.18.0.10, RFC 2544's benchmarking range).
#
#   deploy/lab/lab.sh up                  build it (idempotent); LAB_SITES=3, LAB_MODE=prepend|ecmp
#   deploy/lab/lab.sh status              health of every site, the router's route, an answer from the client
#   deploy/lab/lab.sh down                remove every namespace and process it made (by pid)
#   deploy/lab/lab.sh variant default|shared   rewrite every site's config (shared: health.sharedWithdraw
#                                         and fleet.minAnnounced 2) and restart the nodes one by one
#   deploy/lab/lab.sh blackhole SITE on|off    drop DNS (udp+tcp 53, both ways) on a site's uplink;
#                                         BGP, BFD and the admin port still pass
#   deploy/lab/lab.sh upstream stop|start      take the shared upstream away, bring it back
#
# LAB_FLEET=auto|1|0: the `fleet:` section (every site, its DNS and admin address, a shared key) in
# every config; auto = when this build's `config check` accepts it. LAB_BIRD_CHRT=10 (0 = off):
# BIRD under SCHED_FIFO at that priority; LAB_NODE_NICE=5: the node and its guard at that nice
# value, so that load on port 53 cannot starve BGP and BFD (README "Deploying"). LAB_GUARD: the
# guard section (default "{ interval: 100ms, timeout: 150ms, fall: 3 }"). LAB_DEPREFER=N: shedding
# de-prefers by N prepends of the site's AS (default 0: announce.deprefer left out).
# Needs root, iproute2, bird2, unbound and nftables. Everything stays inside the namespaces.
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
UPSTREAM=198.51.100.253   # the shared upstream, on the router's lo
ATTACKER=198.18.0.10      # the client's second address, for load
FLEET=${LAB_FLEET:-auto}
BIRD_CHRT=${LAB_BIRD_CHRT:-10}
GUARD=${LAB_GUARD:-"{ interval: 100ms, timeout: 150ms, fall: 3 }"}
DEPREFER=${LAB_DEPREFER:-0}
NODE_NICE=${LAB_NODE_NICE:-5}

die() { echo "lab: $*" >&2; exit 1; }
need() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
  ip netns list >/dev/null 2>&1 || die "needs iproute2 with network namespace support"
  command -v bird >/dev/null && command -v birdc >/dev/null || die "needs BIRD 2 (Debian: apt-get install bird2)"
  command -v unbound >/dev/null || die "needs Unbound, the shared upstream (Debian: apt-get install unbound)"
  command -v nft >/dev/null || die "needs nftables (Debian: apt-get install nftables)"
  [ -x "$MAIN" ] || [ -f "$MAIN" ] || die "build first: make build"
}
ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
site_addr() { echo "198.51.100.$((4 * $1 - 2))"; }
router_addr() { echo "198.51.100.$((4 * $1 - 3))"; }
# BIRD at a real-time priority: BFD's 100 ms packets must leave whatever DNS load the site has.
bird_prio() { if [ "$BIRD_CHRT" -gt 0 ] 2>/dev/null; then echo chrt -f "$BIRD_CHRT"; fi; }

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

# The fleet section: every site, the same at each (a node skips its own site id).
fleet_section() {
  local variant=$1 n=$2
  echo "fleet:"
  echo "  peers:"
  for k in $(seq 1 "$n"); do
    echo "    - { site: site$k, dns: [\"$(site_addr "$k"):53\"], admin: \"$(site_addr "$k"):9153\" }"
  done
  echo "  keyFile: $DIR/fleet.key"
  echo "  interval: 1s"
  echo "  staleAfter: 3s"
  [ "$variant" = shared ] && echo "  minAnnounced: 2"
  return 0
}

site_config() {
  local i=$1 variant=$2 fleet=$3 d=$DIR/s$1 shared=false deprefer=""
  [ "$variant" = shared ] && shared=true
  # LAB_DEPREFER=N: a shedding site prepends its own AS N times (each lab site has an AS of its own).
  [ "$DEPREFER" -gt 0 ] 2>/dev/null && deprefer="
  deprefer: { asn: $((65000 + i)), prepend: $DEPREFER, med: null }"
  # The same config at every site except site.id.
  cat <<CONF
site: { id: site$i }
listen: ["$SERVICE4:53", "[$SERVICE6]:53", "127.0.0.1:53", "$(site_addr "$i"):53"]
zones: { dir: $ROOT/zones }
upstreams: ["$UPSTREAM:53"]
# The client link and the load address may use the upstreams (an ISP's customers, say).
recursion: { allow: [127.0.0.0/8, 203.0.113.0/24, 198.18.0.0/15] }
cookies: { secretFile: $DIR/cookie.secret }
health: { drainFile: $d/drain, sharedWithdraw: $shared }
announce:
  prefixes: [$SERVICE4/32]
  adapter: bird
  bird: { includeFile: $d/routes4.conf, includeFile6: $d/routes6.conf, socket: $d/bird.ctl }
  shutdownLinger: 2s$deprefer
guard: $GUARD
admin: { listen: "$(site_addr "$i"):9153", socket: $d/admin.sock }  # sites share /run: a socket each
log: { level: info }
CONF
  [ "$fleet" = 1 ] && fleet_section "$variant" "$N"
  return 0
}

# Whether this build takes a `fleet:` section (the key lands with issue 15): LAB_FLEET=auto asks
# `edgedns config check` once per `up`.
fleet_on() {
  case "$FLEET" in
    1) echo 1 ;;
    0) echo 0 ;;
    *)
      site_config 1 default 1 > "$DIR/fleet-probe.yaml"
      if "$NODE" "$MAIN" config check "$DIR/fleet-probe.yaml" >/dev/null 2>&1; then echo 1; else echo 0; fi
      rm -f "$DIR/fleet-probe.yaml"
      ;;
  esac
}

write_site_config() {
  local i=$1 variant=${2:-default} fleet=${3:-0} d=$DIR/s$1
  # One DNS cookie secret for the whole fleet (README "DNS cookies"): a client that anycast moves
  # to another site keeps a valid cookie. One fleet key likewise (HMAC of the state peers exchange).
  [ -s "$DIR/cookie.secret" ] || (umask 077; od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$DIR/cookie.secret")
  [ -s "$DIR/fleet.key" ] || (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$DIR/fleet.key")
  site_config "$i" "$variant" "$fleet" > "$d/edgedns.yaml.new"
  mv "$d/edgedns.yaml.new" "$d/edgedns.yaml"
}

write_upstream() {
  cat > "$DIR/router/unbound.conf" <<CONF
server:
  interface: $UPSTREAM
  port: 53
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$DIR/router"
  pidfile: ""
  use-syslog: no
  logfile: "$DIR/router/unbound.log"
  do-ip6: no
  num-threads: 1
  module-config: "iterator"
  access-control: 198.51.100.0/24 allow
  # No internet here: every name under fwd.test answers, everything else is NXDOMAIN.
  local-zone: "test." nodefault
  local-zone: "fwd.test." redirect
  local-data: "fwd.test. 60 IN A 192.0.2.1"
  local-zone: "." static
CONF
}

upstream_start() {
  if [ -f "$DIR/router/unbound.pid" ] && kill -0 "$(cat "$DIR/router/unbound.pid")" 2>/dev/null; then return 0; fi
  # Not through ns(): $! must be unbound itself (ip netns exec execs it), not a subshell.
  ip netns exec "$P-router" unbound -d -c "$DIR/router/unbound.conf" </dev/null >>"$DIR/router/unbound.log" 2>&1 &
  echo $! > "$DIR/router/unbound.pid"
  for _ in $(seq 1 50); do
    ns "$P-router" dig +time=1 +tries=1 +short "@$UPSTREAM" a.fwd.test >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "the shared upstream does not answer; see $DIR/router/unbound.log"
}

start_site_processes() {
  local i=$1 d=$DIR/s$1
  if [ ! -f "$d/bird.pid" ] || ! kill -0 "$(cat "$d/bird.pid")" 2>/dev/null; then
    # shellcheck disable=SC2046 # bird_prio is a command prefix or nothing
    ns "$P-s$i" $(bird_prio) bird -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
  else
    birdc -s "$d/bird.ctl" configure >/dev/null   # running: apply the config written above
  fi
  if [ ! -f "$d/supervisor.pid" ] || ! kill -0 "$(cat "$d/supervisor.pid")" 2>/dev/null; then
    rm -f "$d/stop"
    # Not through ns(): $! must be the supervisor itself (ip netns exec, nice and setsid exec).
    ip netns exec "$P-s$i" nice -n "$NODE_NICE" setsid "$HERE/supervise.sh" "$NODE" "$MAIN" "$d" </dev/null >>"$d/supervisor.log" 2>&1 &
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
  # The load address and the shared upstream's (replace: also on a lab made before they existed).
  ns "$P-client" ip addr replace "$ATTACKER/24" dev "${P}c"
  ns "$P-router" ip addr replace 198.18.0.1/24 dev "${P}rc"
  ns "$P-router" ip addr replace "$UPSTREAM/32" dev lo
  local fleet; fleet=$(fleet_on)
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
    write_site_config "$i" "$(cat "$DIR/variant" 2>/dev/null || echo default)" "$fleet"
  done
  echo "$fleet" > "$DIR/fleet"
  write_router_bird
  write_upstream
  upstream_start
  if [ ! -f "$DIR/router/bird.pid" ] || ! kill -0 "$(cat "$DIR/router/bird.pid")" 2>/dev/null; then
    # shellcheck disable=SC2046
    ns "$P-router" $(bird_prio) bird -c "$DIR/router/bird.conf" -s "$DIR/router/bird.ctl" -P "$DIR/router/bird.pid"
  else
    birdc -s "$DIR/router/bird.ctl" configure >/dev/null
  fi
  for i in $(seq 1 "$N"); do start_site_processes "$i"; done
  echo "$N" > "$DIR/sites"
  echo "$MODE" > "$DIR/mode"
  # Wait until the client gets answers through the router (BGP up, a site announcing).
  for _ in $(seq 1 150); do
    if ns "$P-client" dig +time=1 +tries=1 +short +nsid "@$SERVICE4" www.example.test >/dev/null 2>&1; then
      echo "lab up: $N sites ($MODE), service $SERVICE4 from $P-client, fleet $fleet; state in $DIR"
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
    ns "$P-s$i" "$NODE" "$MAIN" status --admin "http://$(site_addr "$i"):9153" 2>&1 | grep -E '^(site|ready|health|announce)' || echo "   (node not answering)"
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
  kill_pidfile "$DIR/router/unbound.pid"
  for i in $(seq 1 "$n"); do ip netns del "$P-s$i" 2>/dev/null || true; done
  ip netns del "$P-router" 2>/dev/null || true
  ip netns del "$P-client" 2>/dev/null || true
  rm -f "$DIR/sites" "$DIR/variant" "$DIR/fleet"
  echo "lab down"
}

# Wait until a site's node answers its /status as UP (after a restart), at most $2 s.
wait_up() {
  local i=$1 limit=${2:-60}
  for _ in $(seq 1 $((limit * 5))); do
    ns "$P-s$i" "$NODE" "$MAIN" status --json --admin "http://$(site_addr "$i"):9153" 2>/dev/null | grep -q '"state": *"UP"' && return 0
    sleep 0.2
  done
  return 1
}

# Another config for every site (the fleet setting as `up` found it); the nodes restart one at a
# time, each once the one before is UP again, so that the service never loses every site.
variant() {
  local v=${1:-} n fleet
  case "$v" in default | shared) ;; *) die "variant: default or shared" ;; esac
  [ -f "$DIR/sites" ] || die "no lab (run: $0 up)"
  n=$(cat "$DIR/sites")
  fleet=$(cat "$DIR/fleet" 2>/dev/null || echo 0)
  N=$n
  echo "$v" > "$DIR/variant"
  for i in $(seq 1 "$n"); do write_site_config "$i" "$v" "$fleet"; done
  for i in $(seq 1 "$n"); do
    kill -TERM "$(cat "$DIR/s$i/edgedns.pid")" 2>/dev/null || true
    sleep 1
    wait_up "$i" 60 || die "site$i is not UP after the restart; see $DIR/s$i/node.log"
  done
  echo "variant $v at $n sites"
}

# nftables in the site's namespace: DNS dropped both ways on the uplink (queries in, answers out,
# and the node's own queries to upstreams and peers); BGP (179), BFD (3784/3785) and the admin
# port are other ports and pass. Loopback is another interface: the node's own probes pass.
blackhole() {
  local i=${1:-} what=${2:-}
  { [ -n "$i" ] && { [ "$what" = on ] || [ "$what" = off ]; }; } || die "blackhole SITE on|off"
  local s="$P-s$i" ifc="${P}s$i"
  if [ "$what" = on ]; then
    ns "$s" nft -f - <<NFT
table inet lab_blackhole {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "$ifc" meta l4proto { udp, tcp } th dport 53 drop
    iifname "$ifc" meta l4proto { udp, tcp } th sport 53 drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "$ifc" meta l4proto { udp, tcp } th sport 53 drop
    oifname "$ifc" meta l4proto { udp, tcp } th dport 53 drop
  }
}
NFT
  else
    ns "$s" nft delete table inet lab_blackhole 2>/dev/null || true
  fi
}

upstream() {
  case "${1:-}" in
    stop) kill_pidfile "$DIR/router/unbound.pid" ;;
    start) upstream_start ;;
    *) die "upstream stop|start" ;;
  esac
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  variant) variant "${2:-}" ;;
  blackhole) blackhole "${2:-}" "${3:-}" ;;
  upstream) upstream "${2:-}" ;;
  *) sed -n '2,27p' "$0"; exit 2 ;;
esac
