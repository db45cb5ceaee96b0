#!/usr/bin/env bash
# Records ip-fragments.pcap beside this script: UDP datagrams larger than the link's MTU (1280, the IPv6 minimum), sent
# by real peers between two network namespaces on a veth pair, so that the sender's kernel fragments them:
#   dns      dig against dnsmasq (edns-packet-max 4096) for a 2 KB TXT record, over IPv6 and over IPv4, plus a short A
#            query each (not fragmented); the TXT answers arrive in two fragments each
#   ping     ping -6 and ping -4 with 3,000-byte payloads (ICMP, fragmented: other transport)
# Addresses from 192.0.2.0/24 and 2001:db8::/32, no route out; namespaces named fr-*, deleted by name. Needs root,
# iproute2, tcpdump, dnsmasq, dig. Usage: sudo bash record.sh
. "$(dirname "$0")/../netns-pair.sh"
pair_up fr-dev fr-srv
ip -n fr-dev link set eth0 address 02:00:5e:00:00:21 mtu 1280 up
ip -n fr-srv link set eth0 address 02:00:5e:00:00:10 mtu 1280 up
ip -n fr-dev addr add 192.0.2.21/24 dev eth0
ip -n fr-srv addr add 192.0.2.10/24 dev eth0
ip -n fr-dev addr add 2001:db8::21/64 dev eth0 nodad
ip -n fr-srv addr add 2001:db8::10/64 dev eth0 nodad
# A 2 KB TXT record: eight strings of 250 characters.
TXT=$(python3 -c 'import random; random.seed(7); print(",".join("\"%s\"" % "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(250)) for _ in range(8)))')
ip netns exec fr-srv dnsmasq --no-daemon --port=53 --listen-address=192.0.2.10 --listen-address=2001:db8::10 --bind-interfaces \
  --no-resolv --no-hosts --conf-file=/dev/null --edns-packet-max=4096 --address=/gw.site.example/192.0.2.1 \
  --txt-record=keys.site.example,"$TXT" --local=/site.example/ >"$WORK/dnsmasq.log" 2>&1 & PIDS="$PIDS $!"
sleep 1.5
ip netns exec fr-dev tcpdump -i eth0 -s 0 -U -w "$HERE/ip-fragments.pcap" 2>"$WORK/tcpdump.err" & TP=$!
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
d="ip netns exec fr-dev dig +tries=1 +timeout=2 +bufsize=4096 +notcp"
$d @2001:db8::10 gw.site.example A
$d @2001:db8::10 keys.site.example TXT
$d @192.0.2.10 gw.site.example A
$d @192.0.2.10 keys.site.example TXT
ip netns exec fr-dev ping -6 -c 2 -i 0.2 -s 3000 2001:db8::10 >/dev/null
ip netns exec fr-dev ping -4 -c 2 -i 0.2 -s 3000 192.0.2.10 >/dev/null
sleep 1
kill $TP; wait $TP 2>/dev/null || true
