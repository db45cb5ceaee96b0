#!/bin/sh
# Records the host-discovery samples beside this script: real nmap and ping sweeps between network namespaces on a
# bridge, so the hosts that answer are known. Needs root, iproute2, nmap, ping (iputils-ping), tcpdump. Only the
# documentation ranges are used (192.0.2.0/24 and 2001:db8:1::/64 the LAN, 198.51.100.0/24 and 2001:db8:2::/64 a far
# network behind a router); every namespace is named n16-* and removed by name at the end.
#
#   LAN (bridge in n16-lan): n16-h7 192.0.2.7 / 2001:db8:1::7, n16-h23 192.0.2.23 / 2001:db8:1::17 (the hosts up),
#                            n16-scan 192.0.2.66 (the ARP sweeper), n16-rtr 192.0.2.254 / 2001:db8:1::fe
#   far: n16-far 198.51.100.66 / 2001:db8:2::66, behind n16-rtr (198.51.100.1 / 2001:db8:2::1)
#
#   arp-sweep.pcap    nmap -sn -PR 192.0.2.1-30 from n16-scan: ARP requests for 30 addresses; .7 and .23 answer
#   ping-sweep.pcap   nmap -sn -PE 192.0.2.1-30 from n16-far: ICMP echo requests to 30 hosts; .7 and .23 answer
#   ping6-sweep.pcap  ping -6 -c 1 to 2001:db8:1::1 .. ::1e from n16-far; ::7 and ::17 answer
#   pings.pcap        ping -c 25 -i 0.2 192.0.2.7 and arping -c 5 192.0.2.23 from n16-scan (not a sweep)
# MACs are fixed (02:00:00:00:16:xx, xx the host's last IPv4 byte in hex) so the samples name the same devices on every
# recording. Usage: sh record-discovery.sh   (writes the pcaps in the current directory)
set -eu
NS="n16-lan n16-h7 n16-h23 n16-scan n16-rtr n16-far"
WORK=$(mktemp -d)
cleanup() {
  for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
cleanup
WORK=$(mktemp -d)
for n in $NS; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n n16-lan link add br0 type bridge
ip -n n16-lan link set br0 up

# lan_port NS IFNAME MAC: a veth from NS onto the bridge
lan_port() {
  ip -n n16-lan link add "p-$1" type veth peer name "$2" netns "$1"
  ip -n n16-lan link set "p-$1" master br0 up
  ip -n "$1" link set "$2" address "$3" up
}
lan_port n16-h7 eth0 02:00:00:00:16:07
lan_port n16-h23 eth0 02:00:00:00:16:17
lan_port n16-scan eth0 02:00:00:00:16:42
lan_port n16-rtr lan0 02:00:00:00:16:fe
ip -n n16-rtr link add far0 type veth peer name eth0 netns n16-far
ip -n n16-rtr link set far0 address 02:00:00:00:16:01 up
ip -n n16-far link set eth0 address 02:00:00:00:16:66 up

ip -n n16-h7 addr add 192.0.2.7/24 dev eth0
ip -n n16-h7 addr add 2001:db8:1::7/64 dev eth0 nodad
ip -n n16-h23 addr add 192.0.2.23/24 dev eth0
ip -n n16-h23 addr add 2001:db8:1::17/64 dev eth0 nodad
ip -n n16-scan addr add 192.0.2.66/24 dev eth0
ip -n n16-rtr addr add 192.0.2.254/24 dev lan0
ip -n n16-rtr addr add 2001:db8:1::fe/64 dev lan0 nodad
ip -n n16-rtr addr add 198.51.100.1/24 dev far0
ip -n n16-rtr addr add 2001:db8:2::1/64 dev far0 nodad
ip -n n16-far addr add 198.51.100.66/24 dev eth0
ip -n n16-far addr add 2001:db8:2::66/64 dev eth0 nodad
for h in n16-h7 n16-h23; do
  ip -n "$h" route add default via 192.0.2.254
  ip -n "$h" -6 route add default via 2001:db8:1::fe
done
ip -n n16-far route add default via 198.51.100.1
ip -n n16-far -6 route add default via 2001:db8:2::1
ip netns exec n16-rtr sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
sleep 1

record() { # record FILE NS FILTER COMMAND...
  out=$1; ns=$2; filter=$3; shift 3
  ip netns exec "$ns" tcpdump -i eth0 -s 128 -U -w "$out" "$filter" 2>"$WORK/tcpdump.err" & TPID=$!
  for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
  ip netns exec "$ns" "$@" >/dev/null 2>&1 || true
  sleep 1
  kill $TPID; wait $TPID 2>/dev/null || true
}

record arp-sweep.pcap n16-scan "arp" nmap -n -sn -PR --max-retries 0 192.0.2.1-30
record ping-sweep.pcap n16-far "icmp" nmap -n -sn -PE --max-retries 0 192.0.2.1-30
record ping6-sweep.pcap n16-far "icmp6 and (ip6[40] == 128 or ip6[40] == 129)" sh -c \
  'for i in $(seq 1 30); do ping -6 -n -c 1 -W 1 2001:db8:1::$(printf %x $i) & done; wait'
record pings.pcap n16-scan "icmp or arp" sh -c 'ping -n -c 25 -i 0.2 192.0.2.7; arping -I eth0 -c 5 -w 3 192.0.2.23'
