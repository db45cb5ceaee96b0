#!/usr/bin/env bash
# Records router-any.pcap beside this script: a capture taken on an IoT site's router itself with `tcpdump -i any`, as
# on a Raspberry Pi or an OpenWrt box serving as the site's access point and gateway. The router namespace (ra-rtr)
# bridges two LAN ports (br-lan 192.0.2.1: a sensor 192.0.2.21 and a LAN broker 192.0.2.10) and masquerades (NAT) on
# its uplink (wan0 198.51.100.1) to a "cloud" (198.51.100.10: mosquitto, 198.51.100.53: dnsmasq as a resolver). The
# sensor resolves cloud.example and publishes to both brokers, three times. `-i any` sees each packet on every
# interface it crosses (a LAN port, the bridge, the uplink), and the sensor's cloud traffic a second time on the uplink
# under the router's address (NAT); the frames are Linux cooked v2 (SLL2) with each interface's index. Real peers only:
# mosquitto, mosquitto_pub, dnsmasq, dig; addresses from the documentation ranges, no route out; namespaces named ra-*,
# deleted by name. Needs root, iproute2, nftables (nft), tcpdump, mosquitto + mosquitto-clients, dnsmasq, bind9-dnsutils,
# wireshark-common (mergecap).
# Also records span-two-ports.pcap: the two LAN ports captured on their own (Ethernet frames) and merged in time order,
# as a switch mirroring both ports to one sensor delivers them: a packet from the sensor to the LAN broker is copied
# at both ports.
# Also records router-two-interfaces.pcapng: dumpcap on the router's LAN bridge and its uplink at once (as Wireshark does
# with two interfaces selected): Ethernet frames, each packet's interface named by the file, and each interface's packets
# written in batches, so the uplink's NAT copy of a session may come before the session itself in the file. Needs
# dumpcap (wireshark-common) for this one.
# Usage: sudo bash record.sh [OUT.pcap [SPAN.pcap [TWO.pcapng]]]   (default: router-any.pcap, span-two-ports.pcap and
# router-two-interfaces.pcapng beside this script; about 5 s)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/router-any.pcap}
SPAN=${2:-$HERE/span-two-ports.pcap}
TWO=${3:-$HERE/router-two-interfaces.pcapng}
WORK=$(mktemp -d)
NS="ra-rtr ra-dev ra-brk ra-cloud"
PIDS=""
cleanup() { for p in $PIDS; do kill $p 2>/dev/null || true; done; sleep 0.3; for n in $NS; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$n" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
for n in $NS; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n ra-rtr link add br-lan type bridge
ip -n ra-rtr link set br-lan address 00:11:32:00:03:01 up
ip -n ra-rtr addr add 192.0.2.1/24 dev br-lan
for p in dev brk; do
  ip -n ra-rtr link add "lan-$p" type veth peer name eth0 netns "ra-$p"
  ip -n ra-rtr link set "lan-$p" master br-lan up
done
ip -n ra-dev link set eth0 address 24:0a:c4:00:03:21 up; ip -n ra-dev addr add 192.0.2.21/24 dev eth0   # Espressif
ip -n ra-brk link set eth0 address b8:27:eb:00:03:10 up; ip -n ra-brk addr add 192.0.2.10/24 dev eth0   # Raspberry Pi
for n in ra-dev ra-brk; do ip -n $n route add default via 192.0.2.1; done
ip -n ra-rtr link add wan0 type veth peer name eth0 netns ra-cloud
ip -n ra-rtr link set wan0 address 00:11:32:00:03:02 up
ip -n ra-rtr addr add 198.51.100.1/24 dev wan0
ip -n ra-cloud link set eth0 up
ip -n ra-cloud addr add 198.51.100.10/24 dev eth0
ip -n ra-cloud addr add 198.51.100.53/24 dev eth0
ip netns exec ra-rtr sysctl -qw net.ipv4.ip_forward=1
ip netns exec ra-rtr nft -f - <<N
table ip nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "wan0" masquerade
  }
}
N
printf 'listener 1883\nallow_anonymous true\n' > "$WORK/m.conf"
ip netns exec ra-cloud mosquitto -c "$WORK/m.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec ra-brk mosquitto -c "$WORK/m.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec ra-cloud dnsmasq --no-daemon --no-resolv --no-hosts --user=root --listen-address=198.51.100.53 --bind-interfaces \
  --address=/cloud.example/198.51.100.10 >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 1
ip netns exec ra-rtr tcpdump -i any -s 0 -U -w "$OUT" 2>"$WORK/td.err" & PIDS="$PIDS $!"
ip netns exec ra-rtr tcpdump -i lan-dev -s 0 -U -w "$WORK/lan-dev.pcap" 2>"$WORK/td1.err" & PIDS="$PIDS $!"
ip netns exec ra-rtr tcpdump -i lan-brk -s 0 -U -w "$WORK/lan-brk.pcap" 2>"$WORK/td2.err" & PIDS="$PIDS $!"
rm -f "$TWO"
ip netns exec ra-rtr dumpcap -q -i br-lan -i wan0 -w "$TWO" 2>"$WORK/dc.err" & PIDS="$PIDS $!"
for e in td td1 td2; do for _ in $(seq 50); do grep -q listening "$WORK/$e.err" && break; sleep 0.1; done; done
for _ in $(seq 50); do [ -s "$TWO" ] && break; sleep 0.1; done
sleep 0.5
for i in 1 2 3; do
  ip netns exec ra-dev dig +short +time=1 +tries=1 @198.51.100.53 cloud.example >/dev/null
  ip netns exec ra-dev mosquitto_pub -h 198.51.100.10 -i dev-cloud -t cloud/dev -m "$i" -q 1
  ip netns exec ra-dev mosquitto_pub -h 192.0.2.10 -i dev-lan -t lan/dev -m "$i" -q 1
  sleep 0.5
done
sleep 1
for p in $PIDS; do kill $p 2>/dev/null || true; done
sleep 0.5
mergecap -F pcap -w "$SPAN" "$WORK/lan-dev.pcap" "$WORK/lan-brk.pcap"
