#!/usr/bin/env bash
# Records dual-stack-site.pcap beside this script: a home-automation segment with IPv6 and multicast, as a SPAN port of
# its switch sees it, with real peers only. A bridge in its own network namespace (s6-lan) joins eleven hosts, each in a
# namespace of its own with its own MAC; tcpdump records on the bridge. Addresses from 192.0.2.0/24 and 2001:db8:6::/64
# (documentation ranges), no route out; every namespace is named s6-* and deleted by name at the end. The router
# (dnsmasq) announces 2001:db8:6::/64, so hosts also take SLAAC addresses and use them as their sources. Needs root,
# iproute2, tcpdump, mosquitto + mosquitto-clients (with WebSocket support), dnsmasq, libcoap3-bin, bind9-dnsutils
# (dig), openssl, node, python3, nmap (the packages tests/setup-deps.sh installs).
#
#   0-30 s   normal traffic (the learning period the test gives): an IPv6-only sensor publishes anonymously every
#            second to the broker's 1883 (client id th-01); a wall panel publishes over MQTT over WebSocket (9001,
#            wsmqtt.js, client id ws-panel); a door sensor publishes over mutual TLS 1.3 (8883, a client certificate);
#            a home controller discovers the CoAP lights by multicast (GET /.well-known/core to 224.0.1.187, RFC 7252
#            §8: the lights answer by unicast after their leisure time) and reads their /time over IPv6, and resolves
#            the broker (AAAA); a TV sends SSDP NOTIFYs, the controller M-SEARCHes and asks mDNS for _mqtt._tcp, the
#            broker answers (noise.py).
#   ~33 s-   an intruder (IPv6 only): nmap -6 -sS of 603 ports of the broker; subscribes to '#' anonymously over
#            WebSocket; tries the TLS listener without a certificate (the broker refuses it); reads both lights'
#            /.well-known/core and PUTs /light on one. Then a new device (SLAAC only) resolves the broker and publishes.
# Usage: sudo bash record.sh [OUT.pcap]   (default: dual-stack-site.pcap beside this script; about 45 s)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/dual-stack-site.pcap}
NS="s6-lan s6-broker s6-dev1 s6-dev2 s6-dev3 s6-coap1 s6-coap2 s6-ctl s6-dns s6-tv s6-atk s6-new"
WORK=$(mktemp -d); chmod 755 "$WORK"
PIDS=""
cleanup() {
  for p in $PIDS; do kill $p 2>/dev/null || true; done
  sleep 0.3
  for n in $NS; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
for n in $NS; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n s6-lan link add br0 type bridge
ip -n s6-lan link set br0 up
port() { # port NS MAC [IPv4] [IPv6]
  ip -n s6-lan link add "p-$1" type veth peer name eth0 netns "$1"
  ip -n s6-lan link set "p-$1" master br0 up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.all.accept_dad=0
  ip -n "$1" link set eth0 address "$2" up
  [ -n "${3:-}" ] && ip -n "$1" addr add "$3/24" dev eth0
  [ -n "${4:-}" ] && ip -n "$1" addr add "$4/64" dev eth0 nodad
  ip -n "$1" route add 224.0.0.0/4 dev eth0 2>/dev/null || true
  return 0
}
port s6-broker b8:27:eb:00:01:10 192.0.2.10 2001:db8:6::10
port s6-dev1   24:0a:c4:00:01:21 ""         2001:db8:6::21   # IPv6-only sensor
port s6-dev2   24:0a:c4:00:01:22 192.0.2.22                  # wall panel, MQTT over WebSocket
port s6-dev3   24:0a:c4:00:01:23 ""         2001:db8:6::23   # mutual-TLS sensor
port s6-coap1  30:ae:a4:00:01:31 192.0.2.31 2001:db8:6::31   # CoAP lights
port s6-coap2  30:ae:a4:00:01:32 192.0.2.32 2001:db8:6::32
port s6-ctl    02:00:00:00:01:40 192.0.2.40 2001:db8:6::40   # home controller
port s6-dns    02:00:00:00:01:53 192.0.2.53 2001:db8:6::53   # router: DNS, RA
port s6-tv     00:17:88:00:01:70 192.0.2.70                  # SSDP chatter (Philips OUI)
port s6-atk    02:00:00:00:01:66 ""         2001:db8:6::66   # intruder, IPv6 only
port s6-new    02:00:00:00:01:77                             # new device: SLAAC
sleep 1.5

# PKI for the TLS listener
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 30 -subj /CN=site6-ca >/dev/null 2>&1
for n in broker dev3; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/$n.key" -out "$WORK/$n.csr" -subj /CN=$n.site6.example >/dev/null 2>&1
  openssl x509 -req -in "$WORK/$n.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -out "$WORK/$n.pem" -days 30 >/dev/null 2>&1
done
chmod 644 "$WORK"/*
cat > "$WORK/mosq.conf" <<C
per_listener_settings true
user root
listener 1883
allow_anonymous true
listener 9001
protocol websockets
allow_anonymous true
listener 8883
allow_anonymous true
cafile $WORK/ca.pem
certfile $WORK/broker.pem
keyfile $WORK/broker.key
require_certificate true
use_identity_as_username true
C
ip netns exec s6-broker mosquitto -c "$WORK/mosq.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-dns dnsmasq --no-daemon --no-resolv --no-hosts --user=root --interface=eth0 --bind-interfaces \
  --enable-ra --dhcp-range=2001:db8:6::,ra-only,64,1h --ra-param=eth0,10,600 --domain=home.example \
  --address=/broker.home.example/192.0.2.10 --address=/broker.home.example/2001:db8:6::10 \
  >/dev/null 2>&1 & PIDS="$PIDS $!"
for i in 1 2; do
  ip netns exec s6-coap$i coap-server-notls -p 5683 -d 8 -v 0 -g 224.0.1.187 >/dev/null 2>&1 & PIDS="$PIDS $!"
done
sleep 1.5

ip netns exec s6-lan tcpdump -i br0 -s 0 -U -w "$OUT" 2>"$WORK/tcpdump.err" & PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
# 0-30 s: normal traffic
ip netns exec s6-dev1 sh -c 'for i in $(seq 30); do mosquitto_pub -h 2001:db8:6::10 -p 1883 -i th-01 -t home/living/temp -m "$i" -q 1; sleep 1; done' >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-dev2 node "$HERE/wsmqtt.js" 192.0.2.10 9001 ws-panel pub home/panel/state 14 2000 >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-dev3 sh -c "for i in \$(seq 6); do mosquitto_pub -h 2001:db8:6::10 -p 8883 --cafile $WORK/ca.pem --cert $WORK/dev3.pem --key $WORK/dev3.key --insecure -i door-03 -t home/door/state -m closed; sleep 5; done" >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-ctl sh -c 'for i in $(seq 6); do coap-client-notls -N -B 2 -m get coap://224.0.1.187/.well-known/core; coap-client-notls -B 2 -m get "coap://[2001:db8:6::31]/time"; coap-client-notls -B 2 -m get "coap://[2001:db8:6::32]/time"; dig +short +time=1 +tries=1 @2001:db8:6::53 broker.home.example AAAA; sleep 4; done' >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-tv python3 "$HERE/noise.py" ssdp-notify 192.0.2.70 10 3 >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-ctl python3 "$HERE/noise.py" ssdp-search 192.0.2.40 3 10 >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-ctl python3 "$HERE/noise.py" mdns-query 192.0.2.40 3 10 >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec s6-broker python3 "$HERE/noise.py" mdns-answer 192.0.2.10 3 10 >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 33
# after learning: an intruder over IPv6, a new device
ip netns exec s6-atk nmap -6 -n -sS -p 1-600,1883,8883,9001 --max-retries 0 2001:db8:6::10 >/dev/null 2>&1 || true
ip netns exec s6-atk timeout 4 node "$HERE/wsmqtt.js" 2001:db8:6::10 9001 x sub '#' 3 >/dev/null 2>&1 || true
ip netns exec s6-atk timeout 4 mosquitto_pub -h 2001:db8:6::10 -p 8883 --cafile $WORK/ca.pem --insecure -t x -m y >/dev/null 2>&1 || true
ip netns exec s6-atk sh -c 'for h in 31 32; do coap-client-notls -B 2 -m get "coap://[2001:db8:6::$h]/.well-known/core"; done; coap-client-notls -B 2 -m put -e off "coap://[2001:db8:6::31]/light"' >/dev/null 2>&1 || true
NEW6=""
for _ in $(seq 50); do NEW6=$(ip -n s6-new -6 addr show dev eth0 scope global | awk '/inet6/{print $2}' | cut -d/ -f1 | head -1); [ -n "$NEW6" ] && break; sleep 0.2; done
ip netns exec s6-new sh -c 'dig +short +time=1 +tries=1 @2001:db8:6::53 broker.home.example AAAA; mosquitto_pub -h 2001:db8:6::10 -p 1883 -i plug-9 -t home/plug-9/relay -m on' >/dev/null 2>&1 || true
sleep 2
echo "new device's SLAAC address: $NEW6" >&2
