#!/usr/bin/env bash
# Records router-fragments.pcap beside this script: `tcpdump -i any` on a router (no NAT) between a client and a DNS
# server, both links with an MTU of 1280, so that each fragment of a large answer is captured twice: on the way in and
# on the way out. dig asks dnsmasq (edns-packet-max 4096) for a 2 KB TXT record over IPv6 and over IPv4 through the
# router. Addresses from 192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32, no route out; namespaces named frr-*,
# deleted by name. Needs root, iproute2, tcpdump, dnsmasq, dig. Usage: sudo bash record-router.sh
. "$(dirname "$0")/../netns-pair.sh"
ns_up frr-cli frr-rtr frr-srv
ip -n frr-rtr link add lan type veth peer name eth0 netns frr-cli
ip -n frr-rtr link add dmz type veth peer name eth0 netns frr-srv
for d in lan dmz; do ip -n frr-rtr link set "$d" mtu 1280 up; done
for n in frr-cli frr-srv; do ip -n "$n" link set eth0 mtu 1280 up; done
ip -n frr-rtr addr add 192.0.2.1/24 dev lan
ip -n frr-rtr addr add 2001:db8:1::1/64 dev lan nodad
ip -n frr-rtr addr add 198.51.100.1/24 dev dmz
ip -n frr-rtr addr add 2001:db8:2::1/64 dev dmz nodad
ip -n frr-cli addr add 192.0.2.21/24 dev eth0
ip -n frr-cli addr add 2001:db8:1::21/64 dev eth0 nodad
ip -n frr-srv addr add 198.51.100.10/24 dev eth0
ip -n frr-srv addr add 2001:db8:2::10/64 dev eth0 nodad
ip -n frr-cli route add default via 192.0.2.1
ip -n frr-cli -6 route add default via 2001:db8:1::1
ip -n frr-srv route add default via 198.51.100.1
ip -n frr-srv -6 route add default via 2001:db8:2::1
ip netns exec frr-rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
TXT=$(python3 -c 'import random; random.seed(7); print(",".join("".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(250)) for _ in range(8)))')
ip netns exec frr-srv dnsmasq --no-daemon --port=53 --listen-address=198.51.100.10 --listen-address=2001:db8:2::10 \
  --bind-interfaces --no-resolv --no-hosts --conf-file=/dev/null --edns-packet-max=4096 \
  --txt-record=keys.site.example,"$TXT" --local=/site.example/ >"$WORK/dnsmasq.log" 2>&1 & PIDS="$PIDS $!"
sleep 1.5
ip netns exec frr-rtr tcpdump -i any -s 0 -U -w "$HERE/router-fragments.pcap" udp 2>"$WORK/tcpdump.err" & TP=$!
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
d="ip netns exec frr-cli dig +tries=1 +timeout=2 +bufsize=4096 +notcp"
$d @2001:db8:2::10 keys.site.example TXT >/dev/null
$d @198.51.100.10 keys.site.example TXT >/dev/null
sleep 1
kill $TP; wait $TP 2>/dev/null || true
