#!/usr/bin/env bash
# Records the DHCP samples with real peers: dnsmasq (dnsmasq-base) as the server and busybox udhcpc as the client, in
# two network namespaces joined by a veth pair (192.0.2.0/24, TEST-NET-1, no route out). tcpdump records inside the
# server's namespace. Needs root (CI runs as root). Re-runnable: the namespaces are deleted by name at the end.
#
#   record.sh [OUTDIR]      default: this directory
#   SECMON_DHCP_TAG=123     suffix for the namespace and interface names (parallel runs; default none)
#
# Samples (one MAC, 02:53:4d:00:00:10, two leases 3 s apart, each DISCOVER/OFFER/REQUEST/ACK, a renewal
# REQUEST/ACK from the leased address, then a RELEASE):
#   dhcp-lease.pcap  the same host name and vendor class both times (thermostat-1, "acme-thermo 2.1")
#   dhcp-swap.pcap   the second lease with another host name and vendor class (cam-7, udhcpc's default
#                    "udhcp 1.35.0"), asking for 192.0.2.77 and for broadcast replies: a swapped device
#   dhcp-fqdn.pcap   one lease of a client that names itself by option 81 only (RFC 4702 client FQDN, udhcpc -F
#                    cam-9.site.example; no option 12), as Windows and udhcpc -F send it; dnsmasq answers with option 81
# ONLY=dhcp-fqdn record.sh records one sample.
set -euo pipefail

out=$(realpath "${1:-$(dirname "$0")}")
tag=${SECMON_DHCP_TAG:-}
srv=secmon-dhcp-srv$tag
cli=secmon-dhcp-cli$tag
vs=sdhcp${tag}s
vc=sdhcp${tag}c
work=$(mktemp -d)
dnsmasq_pid=
tcpdump_pid=

cleanup() {
    [[ -n $tcpdump_pid ]] && kill "$tcpdump_pid" 2>/dev/null || true
    [[ -n $dnsmasq_pid ]] && kill "$dnsmasq_pid" 2>/dev/null || true
    ip netns del "$srv" 2>/dev/null || true
    ip netns del "$cli" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns del "$srv" 2>/dev/null || true
ip netns del "$cli" 2>/dev/null || true
ip netns add "$srv"
ip netns add "$cli"
ip link add "$vs" netns "$srv" type veth peer name "$vc" netns "$cli"
ip -n "$srv" link set "$vs" address 02:53:4d:00:00:01
ip -n "$cli" link set "$vc" address 02:53:4d:00:00:10
ip -n "$srv" addr add 192.0.2.1/24 dev "$vs"
ip -n "$srv" link set "$vs" up
ip -n "$cli" link set "$vc" up
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up

# The server, on its own configuration only (no /etc/dnsmasq.conf, no DNS: --port=0), killed by PID.
ip netns exec "$srv" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --port=0 \
    --bind-interfaces --interface="$vs" --user=root --group=root --pid-file="$work/dnsmasq.pid" \
    --dhcp-range=192.0.2.50,192.0.2.99,255.255.255.0,1h --dhcp-leasefile="$work/leases" --no-ping \
    --dhcp-authoritative --log-facility="$work/dnsmasq.log" &
dnsmasq_pid=$!

start_capture() { # $1: pcap
    ip netns exec "$srv" tcpdump -i "$vs" --immediate-mode -U -w "$1" 'udp port 67 or udp port 68' 2>"$work/tcpdump.err" &
    tcpdump_pid=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$work/tcpdump.err" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "tcpdump did not start: $(cat "$work/tcpdump.err")" >&2
    return 1
}

stop_capture() {
    sleep 1
    kill -INT "$tcpdump_pid"
    wait "$tcpdump_pid" || true
    tcpdump_pid=
}

# udhcpc's script puts the leased address on the interface (a RELEASE is sent from it, unicast to the server).
cat >"$work/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
    deconfig) ip addr flush dev "$interface" ;;
    bound|renew) ip addr replace "$ip/24" dev "$interface" ;;
esac
exit 0
SCRIPT
chmod +x "$work/udhcpc.script"

wait_log() { # $1: count of lines matching $2 expected in udhcpc's log
    for _ in $(seq 100); do
        (( $(grep -c "$2" "$work/udhcpc.log" 2>/dev/null || true) >= $1 )) && return 0
        sleep 0.05
    done
    echo "udhcpc: no '$2' in: $(cat "$work/udhcpc.log")" >&2
    return 1
}

leases=0
lease() { # udhcpc options...: a lease, a renewal (SIGUSR1: unicast REQUEST), a release (SIGUSR2), then exit
    ip netns exec "$cli" udhcpc -i "$vc" -f -n -t 5 -T 1 -s "$work/udhcpc.script" "$@" >>"$work/udhcpc.log" 2>&1 &
    local pid=$!
    leases=$((leases + 1))
    wait_log "$((2 * leases - 1))" "obtained"
    kill -USR1 "$pid"
    wait_log "$((2 * leases))" "obtained"
    kill -USR2 "$pid"
    wait_log "$leases" "entering released state"
    kill "$pid"
    wait "$pid" || true
}

want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

if want dhcp-lease; then
start_capture "$out/dhcp-lease.pcap"
lease -x hostname:thermostat-1 -V "acme-thermo 2.1"
sleep 3
lease -x hostname:thermostat-1 -V "acme-thermo 2.1"
stop_capture
fi

if want dhcp-swap; then
start_capture "$out/dhcp-swap.pcap"
lease -x hostname:thermostat-1 -V "acme-thermo 2.1"
sleep 3
lease -B -r 192.0.2.77 -x hostname:cam-7
stop_capture
fi

if want dhcp-fqdn; then
start_capture "$out/dhcp-fqdn.pcap"
lease -F cam-9.site.example -V "acme-cam 3.0"
stop_capture
fi

echo "recorded in $out"
