#!/usr/bin/env bash
# Records the DHCPv6 samples with real peers: dnsmasq (dnsmasq-base) as the server and ISC dhclient -6
# (isc-dhcp-client) as the client, in two network namespaces joined by a veth pair (2001:db8:1::/64, documentation
# addresses, no route out). tcpdump records inside the server's namespace. Needs root. Re-runnable: the namespaces are
# deleted by name at the end, dnsmasq and tcpdump killed by PID.
#
#   record.sh [OUTDIR]        default: this directory
#   SECMON_DHCPV6_TAG=123     suffix for the namespace and interface names (parallel runs; default none)
#
# Samples (client MAC 02:53:4d:00:00:20, DUID-LL made from it, so every lease has the same DUID):
#   dhcpv6-lease.pcap  two leases (SOLICIT/ADVERTISE/REQUEST/REPLY, then RELEASE/REPLY), both with the host name
#                      thermostat-1 and the vendor class "acme-thermo 2.1" (enterprise 32473)
#   dhcpv6-swap.pcap   the first lease as above, the second with the host name cam-7 and vendor class "ipcam 4.0":
#                      a swapped device behind one DUID
set -euo pipefail

out=$(realpath "${1:-$(dirname "$0")}")
mkdir -p "$out"
tag=${SECMON_DHCPV6_TAG:-}
srv=secmon-dhcp6-srv$tag
cli=secmon-dhcp6-cli$tag
vs=sdh6${tag}s
vc=sdh6${tag}c
work=$(mktemp -d)
dnsmasq_pid=
tcpdump_pid=

cleanup() {
    [[ -n $tcpdump_pid ]] && kill "$tcpdump_pid" 2>/dev/null || true
    [[ -n $dnsmasq_pid ]] && kill "$dnsmasq_pid" 2>/dev/null || true
    [[ -f $work/dhclient.pid ]] && kill "$(cat "$work/dhclient.pid")" 2>/dev/null || true
    ip netns del "$srv" 2>/dev/null || true
    ip netns del "$cli" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns del "$srv" 2>/dev/null || true
ip netns del "$cli" 2>/dev/null || true
ip netns add "$srv"
ip netns add "$cli"
# No duplicate address detection: link-local addresses are usable at once (dhclient -6 needs one).
for ns in "$srv" "$cli"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add "$vs" netns "$srv" type veth peer name "$vc" netns "$cli"
ip -n "$srv" link set "$vs" address 02:53:4d:00:00:02
ip -n "$cli" link set "$vc" address 02:53:4d:00:00:20
ip -n "$srv" addr add 2001:db8:1::1/64 dev "$vs" nodad
ip -n "$srv" link set "$vs" up
ip -n "$cli" link set "$vc" up
ip -n "$srv" link set lo up
ip -n "$cli" link set lo up

# The server, on its own configuration only (no /etc/dnsmasq.conf, no DNS: --port=0), killed by PID.
ip netns exec "$srv" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --port=0 \
    --bind-interfaces --interface="$vs" --user=root --group=root --pid-file="$work/dnsmasq.pid" \
    --dhcp-range=2001:db8:1::100,2001:db8:1::1ff,64,1h --dhcp-leasefile="$work/leases" \
    --dhcp-authoritative --log-facility="$work/dnsmasq.log" &
dnsmasq_pid=$!
sleep 1

start_capture() { # $1: pcap
    ip netns exec "$srv" tcpdump -i "$vs" --immediate-mode -U -w "$1" 'udp port 546 or udp port 547' 2>"$work/tcpdump.err" &
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

# dhclient's own dhcp6.vendor-class is not sent as written; vclass (RFC 8415 §21.16: enterprise, one item) is.
lease() { # $1 host name, $2 vendor class: one lease (dhclient -1: give up rather than retry for ever), then a release
    cat >"$work/dhclient6.conf" <<CONF
send fqdn.fqdn "$1";
send fqdn.server-update on;
also request fqdn;
option dhcp6.vclass code 16 = { integer 32, integer 16, string };
send dhcp6.vclass 32473 ${#2} "$2";
CONF
    rm -f "$work/dhclient6.leases"
    ip netns exec "$cli" timeout 20 dhclient -6 -1 -v -D LL -cf "$work/dhclient6.conf" -lf "$work/dhclient6.leases" \
        -pf "$work/dhclient.pid" -sf /bin/true "$vc" >>"$work/dhclient.log" 2>&1
    sleep 0.5
    ip netns exec "$cli" timeout 20 dhclient -6 -r -v -D LL -cf "$work/dhclient6.conf" -lf "$work/dhclient6.leases" \
        -pf "$work/dhclient.pid" -sf /bin/true "$vc" >>"$work/dhclient.log" 2>&1
    rm -f "$work/dhclient.pid"
}

start_capture "$out/dhcpv6-lease.pcap"
lease thermostat-1 "acme-thermo 2.1"
sleep 1
lease thermostat-1 "acme-thermo 2.1"
stop_capture

start_capture "$out/dhcpv6-swap.pcap"
lease thermostat-1 "acme-thermo 2.1"
sleep 1
lease cam-7 "ipcam 4.0"
stop_capture

echo "recorded $out/dhcpv6-lease.pcap $out/dhcpv6-swap.pcap"
