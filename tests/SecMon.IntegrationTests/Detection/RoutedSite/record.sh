#!/usr/bin/env bash
# Records routed-site.pcap beside this script: a LAN whose devices reach a cloud broker and a web server through their
# gateway, recorded on the LAN's switch (a bridge in its own namespace, rt-lan), as a SPAN port there sees it. Real
# peers: mosquitto (198.51.100.10 and 2001:db8:20::10, port 1883, anonymous), python3's http.server (198.51.100.20:80)
# and dnsmasq as a resolver (198.51.100.53) in rt-cloud, behind a router namespace (rt-gw: 192.0.2.1 and
# 2001:db8:10::1 on the LAN, 198.51.100.1 and 2001:db8:20::1 on its other side, forwarding). Two sensors publish three
# times each: the first (192.0.2.21, 2001:db8:10::21) over IPv6, after resolving cloud.example (the capture's first
# packet to the cloud); the second (192.0.2.22) over IPv4, and it fetches a page. On the LAN every packet from the cloud
# carries the gateway's MAC and a TTL (IPv6: hop limit) one below its sender's: 63. Addresses from the documentation
# ranges, no route out; namespaces named rt-*, deleted by name. Needs root, iproute2, tcpdump, mosquitto +
# mosquitto-clients, dnsmasq, bind9-dnsutils (dig), python3, curl.
# Usage: sudo bash record.sh [OUT.pcap]   (default: routed-site.pcap beside this script; about 8 s)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/routed-site.pcap}
WORK=$(mktemp -d)
NS="rt-lan rt-dev1 rt-dev2 rt-gw rt-cloud"
PIDS=""
cleanup() { for p in $PIDS; do kill $p 2>/dev/null || true; done; sleep 0.3; for n in $NS; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$n" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
for n in $NS; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n rt-lan link add br0 type bridge; ip -n rt-lan link set br0 up
port() { ip -n rt-lan link add "p-$1" type veth peer name eth0 netns "$1"; ip -n rt-lan link set "p-$1" master br0 up; ip -n "$1" link set eth0 address "$2" up; ip -n "$1" addr add "$3/24" dev eth0; }
port rt-dev1 24:0a:c4:00:02:21 192.0.2.21
port rt-dev2 24:0a:c4:00:02:22 192.0.2.22
port rt-gw   00:11:32:00:02:01 192.0.2.1          # the router's LAN side
ip -n rt-gw link add wan0 type veth peer name eth0 netns rt-cloud
ip -n rt-gw link set wan0 address 00:11:32:00:02:02 up; ip -n rt-gw addr add 198.51.100.1/24 dev wan0
ip -n rt-cloud link set eth0 up; ip -n rt-cloud addr add 198.51.100.10/24 dev eth0; ip -n rt-cloud addr add 198.51.100.20/24 dev eth0
ip -n rt-cloud route add default via 198.51.100.1
ip netns exec rt-gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# IPv6 too: the first sensor and the broker have addresses on two /64s, routed by the gateway.
for n in rt-dev1 rt-gw rt-cloud; do ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; done
ip -n rt-gw addr add 2001:db8:10::1/64 dev eth0 nodad; ip -n rt-gw addr add 2001:db8:20::1/64 dev wan0 nodad
ip -n rt-dev1 addr add 2001:db8:10::21/64 dev eth0 nodad; ip -n rt-dev1 -6 route add default via 2001:db8:10::1
ip -n rt-cloud addr add 2001:db8:20::10/64 dev eth0 nodad; ip -n rt-cloud -6 route add default via 2001:db8:20::1
for d in rt-dev1 rt-dev2; do ip -n $d route add default via 192.0.2.1; done
sleep 1
cat > $WORK/m.conf <<C
listener 1883
allow_anonymous true
C
ip netns exec rt-cloud mosquitto -c $WORK/m.conf >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec rt-cloud python3 -m http.server 80 --bind 198.51.100.20 >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 1
ip netns exec rt-lan tcpdump -i br0 -s 0 -U -w "$OUT" 2>$WORK/td.err & PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q listening $WORK/td.err && break; sleep 0.1; done
ip netns exec rt-cloud ip addr add 198.51.100.53/24 dev eth0
ip netns exec rt-cloud dnsmasq --no-daemon --no-resolv --no-hosts --user=root --listen-address=198.51.100.53 --bind-interfaces --address=/cloud.example/198.51.100.10 >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 0.5
for i in 1 2 3; do
  ip netns exec rt-dev1 dig +short +time=1 +tries=1 @198.51.100.53 cloud.example >/dev/null || true
  ip netns exec rt-dev1 mosquitto_pub -h 2001:db8:20::10 -i dev1 -t cloud/dev1 -m $i -q 1
  ip netns exec rt-dev2 mosquitto_pub -h 198.51.100.10 -i dev2 -t cloud/dev2 -m $i -q 1
  ip netns exec rt-dev2 curl -s -m 2 http://198.51.100.20/ >/dev/null || true
  sleep 1
done
sleep 1
