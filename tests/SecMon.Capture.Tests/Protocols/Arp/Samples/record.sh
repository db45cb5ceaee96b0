#!/usr/bin/env bash
# Records the ARP samples: hosts in network namespaces of their own, with their own MACs (locally administered,
# 02:00:00:00:00:xx) and documentation addresses (192.0.2.0/24), joined by a bridge in a
# namespace of its own, with no route out. tcpdump records on the bridge. Needs root, iproute2, iputils-arping,
# tcpdump, ping. Every namespace is deleted by name at the end (the veth pairs go with them).
#
#   clean.pcap      h2 asks for h1 (arping), h1 pings h2, h2 announces its own address once (arping -U): ordinary ARP, no spoofing,
#                   no storm. (VLAN tags are tested with built frames: the 8021q module is not available everywhere.)
#   spoof.pcap      h1 and h2 talk; then h3 claims h1's address 192.0.2.1 (it adds the address and sends unsolicited
#                   replies with arping -A) while h2 asks for it and h1 answers: one address, two MACs, seconds apart.
#   storm.pcap      h3 announces its address 40 times in 4 seconds (ten arping -U -c 4 at once).
#   newdevice.pcap  h1 and h2 talk for 12 s (arping once a second); then h3 appears and pings h1.
#   cooked.pcap     the clean exchange recorded with tcpdump -i any (Linux cooked capture, SLL2).
set -euo pipefail
cd "$(dirname "$0")"
tag=$$
BR=secmon-arp-br$tag
H=(secmon-arp-h1$tag secmon-arp-h2$tag secmon-arp-h3$tag)

capture_pid=
cleanup() {
  if [ -n "$capture_pid" ]; then kill "$capture_pid" 2>/dev/null || true; fi
  for ns in "$BR" "${H[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

ip netns add "$BR"
ip -n "$BR" link add br0 type bridge
ip -n "$BR" link set br0 up
for i in 1 2 3; do
  ns=${H[$((i-1))]}
  ip netns add "$ns"
  ip -n "$BR" link add "p$i" type veth peer name eth0 netns "$ns"
  ip -n "$BR" link set "p$i" master br0 up
  ip -n "$ns" link set eth0 address "02:00:00:00:00:0$i"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
done
ip -n "${H[0]}" addr add 192.0.2.1/24 dev eth0
ip -n "${H[1]}" addr add 192.0.2.2/24 dev eth0
ip -n "${H[2]}" addr add 192.0.2.3/24 dev eth0
# No IPv6 chatter (router solicitations, MLD) in the samples: ARP and IPv4 only.
for ns in "$BR" "${H[@]}"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
sleep 1

on() { local n=$1; shift; ip netns exec "${H[$((n-1))]}" "$@"; }
flush() { for i in 1 2 3; do on "$i" ip neigh flush all; done; }

record() { # FILE INTERFACE COMMAND...
  local file=$1 dev=$2; shift 2
  flush
  ip netns exec "$BR" tcpdump -i "$dev" -U -w "$file.tmp" -s 256 'arp or icmp' >/dev/null 2>&1 &
  capture_pid=$!
  sleep 1
  "$@"
  sleep 1
  kill "$capture_pid"; wait "$capture_pid" || true; capture_pid=
  mv "$file.tmp" "$file"
}

clean() {
  on 2 arping -c 2 -I eth0 192.0.2.1 >/dev/null
  on 1 ping -c 2 -i 0.2 192.0.2.2 >/dev/null
  on 2 arping -U -c 1 -I eth0 192.0.2.2 >/dev/null || true
}
spoof() {
  on 2 arping -c 1 -I eth0 192.0.2.1 >/dev/null
  on 3 ip addr add 192.0.2.1/32 dev eth0
  on 3 arping -A -c 3 -I eth0 -s 192.0.2.1 192.0.2.1 >/dev/null || true
  on 2 arping -c 1 -I eth0 192.0.2.1 >/dev/null || true
  on 3 ip addr del 192.0.2.1/32 dev eth0
}
storm() { # ten arpings at once, four announcements each a second apart (arping's interval is whole seconds)
  local pids=()
  for _ in $(seq 10); do on 3 arping -U -c 4 -I eth0 192.0.2.3 >/dev/null & pids+=($!); done
  wait "${pids[@]}" || true
}
newdevice() {
  on 2 arping -c 12 -I eth0 192.0.2.1 >/dev/null
  on 3 ping -c 2 -i 0.2 192.0.2.1 >/dev/null
}

record clean.pcap br0 clean
record spoof.pcap br0 spoof
record storm.pcap br0 storm
record newdevice.pcap br0 newdevice
record cooked.pcap any clean
ls -l ./*.pcap
