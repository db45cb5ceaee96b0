#!/bin/sh
# Records the traceroute samples beside this script: Linux traceroute (UDP probes, the default) across a chain of eight
# routers in network namespaces, to a target that answers (ICMP port unreachable) and to one that drops UDP, over
# IPv4 and IPv6. A traceroute is no port scan, though its probes go to a new port each: the routers answer the ones
# that expire on the way (ICMP time exceeded). Needs root, iproute2, nftables, traceroute, tcpdump. Only the
# documentation ranges are used: 192.0.2.0/24 and 2001:db8:22::/64 the tracer's LAN, 198.51.100.0/24 cut into /30s and
# 2001:db8:22:N::/64 the links; every namespace is named n22-* and removed by name at the end.
#
#   n22-tracer 192.0.2.10 -- n22-r1 -- n22-r2 -- ... -- n22-r8 -- n22-target 198.51.100.250 / 2001:db8:22:9::2
#
#   traceroute-open.pcap     traceroute -n 198.51.100.250, then -6 2001:db8:22:9::2: the target is the 9th hop and
#                            refuses the probes that reach it (port unreachable)
#   traceroute-silent.pcap   the same after the target drops every UDP datagram: probes up to 30 hops, the last 22
#                            hops unanswered
# Captured on the tracer's interface (as a SPAN port of its switch would see it). MACs are fixed (02:00:00:00:22:xx).
# Usage: sh record-traceroute.sh   (writes the pcaps in the current directory)
set -eu
ROUTERS="1 2 3 4 5 6 7 8"
NS="n22-tracer n22-target"
for i in $ROUTERS; do NS="$NS n22-r$i"; done
WORK=$(mktemp -d)
cleanup() {
  for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
for n in $NS; do ip netns add "$n"; ip -n "$n" link set lo up; done

# link A IFA MACA ADDRA ADDR6A B IFB MACB ADDRB ADDR6B: a veth between two namespaces
link() {
  a=$1 ifa=$2 maca=$3 addra=$4 addr6a=$5 b=$6 ifb=$7 macb=$8 addrb=$9
  shift 9
  ip -n "$a" link add "$ifa" type veth peer name "$ifb" netns "$b"
  ip -n "$a" link set "$ifa" address "$maca" up
  ip -n "$b" link set "$ifb" address "$macb" up
  ip -n "$a" addr add "$addra" dev "$ifa"
  ip -n "$a" addr add "$addr6a" dev "$ifa" nodad
  ip -n "$b" addr add "$addrb" dev "$ifb"
  ip -n "$b" addr add "$1" dev "$ifb" nodad
}
link n22-tracer eth0 02:00:00:00:22:0a 192.0.2.10/24 2001:db8:22::a/64 \
     n22-r1 lan0 02:00:00:00:22:01 192.0.2.1/24 2001:db8:22::1/64
prev=n22-r1
for i in 2 3 4 5 6 7 8; do
  j=$((i - 1))
  link "$prev" "up0" "02:00:00:00:22:$(printf %x $((0x10 + j)))" "198.51.100.$((4 * j + 1))/30" "2001:db8:22:$j::1/64" \
       "n22-r$i" "down0" "02:00:00:00:22:$(printf %x $((0x20 + j)))" "198.51.100.$((4 * j + 2))/30" "2001:db8:22:$j::2/64"
  prev="n22-r$i"
done
link n22-r8 up0 02:00:00:00:22:18 198.51.100.249/30 2001:db8:22:9::1/64 \
     n22-target eth0 02:00:00:00:22:fa 198.51.100.250/30 2001:db8:22:9::2/64

ip -n n22-tracer route add default via 192.0.2.1
ip -n n22-tracer -6 route add default via 2001:db8:22::1
for i in $ROUTERS; do
  ns="n22-r$i"
  ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  # No rate limit on the routers' ICMP errors, so that every expired probe is answered as on a quiet path.
  ip netns exec "$ns" sysctl -q -w net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
  if [ "$i" -lt 8 ]; then
    ip -n "$ns" route add default via "198.51.100.$((4 * i + 2))"
    ip -n "$ns" -6 route add default via "2001:db8:22:$i::2"
  fi
  if [ "$i" -gt 1 ]; then
    j=$((i - 1))
    ip -n "$ns" route add 192.0.2.0/24 via "198.51.100.$((4 * j + 1))"
    ip -n "$ns" -6 route add 2001:db8:22::/64 via "2001:db8:22:$j::1"
  fi
done
ip -n n22-r8 route add default via 198.51.100.250 2>/dev/null || true
ip -n n22-target route add default via 198.51.100.249
ip -n n22-target -6 route add default via 2001:db8:22:9::1
ip netns exec n22-target sysctl -q -w net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
sleep 2
ip netns exec n22-tracer ping -n -c 1 -W 2 198.51.100.250 >/dev/null
ip netns exec n22-tracer ping -6 -n -c 1 -W 2 2001:db8:22:9::2 >/dev/null

record() { # record FILE COMMAND...
  out=$1; shift
  ip netns exec n22-tracer tcpdump -i eth0 -s 256 -U -w "$out" "udp or icmp or icmp6" 2>"$WORK/tcpdump.err" & TPID=$!
  for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
  sh -c "$*"
  sleep 1
  kill $TPID; wait $TPID 2>/dev/null || true
}
TRACE="ip netns exec n22-tracer traceroute -n -w 1"
record traceroute-open.pcap "$TRACE 198.51.100.250; $TRACE -6 2001:db8:22:9::2"
ip netns exec n22-target nft -f - <<'NFT'
table inet n22 {
  chain input {
    type filter hook input priority 0;
    meta l4proto udp drop
  }
}
NFT
record traceroute-silent.pcap "$TRACE 198.51.100.250; $TRACE -6 2001:db8:22:9::2"
