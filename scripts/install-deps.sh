#!/usr/bin/env bash
# Install the system tools a target needs when they are missing (Debian/Ubuntu, as root).
#   scripts/install-deps.sh test    dig, kdig, unbound, bird2, exabgp, gobgpd, iproute2, systemd-analyze
#                                   (and systemd-notify, systemd-sysusers), python3 (port-0 datagrams
#                                   from a raw socket; the notify socket), named (bind9: the other DNS
#                                   cookie implementation), dnssec-signzone (bind9-utils: the signed
#                                   test zones), knotd (knot: the reference for signed answers),
#                                   openssl and curl (DoT/DoH certificates and requests),
#                                   promtool and prometheus (the alert rules and dashboard of
#                                   deploy/monitoring/), man and groff (the man
#                                   page), setcap and capsh (the Kubernetes container run as its
#                                   runtime runs it), python3-jsonschema and python3-yaml (the
#                                   manifests checked against the Kubernetes schemas), dnsdist (the
#                                   bench's dnsdist config checked): the whole suite
#   scripts/install-deps.sh lab     bird2, iproute2, dig, unbound (the shared upstream), nftables
#                                   (the blackhole drills) and dnsperf (the attack), for `make lab-up`
#   scripts/install-deps.sh bench   dnsperf, unbound, python3 (port-0 datagrams), dnssec-signzone
#                                   (the signed zone of zone-signed), openssl (the DoT/DoH
#                                   certificate), h2load (nghttp2-client: the doh workload), dnsdist
#                                   (a third server in hit and miss) and knotd (beside edgedns in
#                                   zone-10 … zone-1m), for `make bench`
# Daemons are kept from auto-starting while they are installed (policy-rc.d exits 101).
set -euo pipefail
want=()
need() { command -v "$1" >/dev/null 2>&1 || want+=("$2"); }
case "${1:-test}" in
  test)
    need dig bind9-dnsutils
    need kdig knot-dnsutils
    need unbound unbound
    need named bind9
    need dnssec-signzone bind9-utils
    need knotd knot
    need dnsdist dnsdist
    need openssl openssl
    need curl curl
    need bird bird2
    need exabgp exabgp
    need gobgpd gobgpd
    need ip iproute2
    need systemd-analyze systemd
    need systemd-notify systemd
    need systemd-sysusers systemd
    need man man-db
    need groff groff-base
    need python3 python3
    need promtool prometheus
    need prometheus prometheus
    need setcap libcap2-bin
    need capsh libcap2-bin
    # Debian's python, whatever python3 is first on PATH: deploy/k8s/schemas/validate.py.
    /usr/bin/python3 -c 'import jsonschema' 2>/dev/null || want+=(python3-jsonschema)
    /usr/bin/python3 -c 'import yaml' 2>/dev/null || want+=(python3-yaml)
    ;;
  lab)
    need dig bind9-dnsutils
    need bird bird2
    need ip iproute2
    need stdbuf coreutils
    need unbound unbound
    need nft nftables
    need dnsperf dnsperf
    ;;
  bench)
    need dig bind9-dnsutils
    need dnssec-signzone bind9-utils
    need dnsperf dnsperf
    need unbound unbound
    need python3 python3
    need openssl openssl
    need h2load nghttp2-client
    need dnsdist dnsdist
    need knotd knot
    ;;
  *) echo "usage: $0 test|lab|bench" >&2; exit 2 ;;
esac
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing: ${want[*]} — install them with your package manager (Debian: apt-get install ${want[*]})" >&2
  exit 1
fi
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
echo "installing: ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${want[@]}" >/dev/null
