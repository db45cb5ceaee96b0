#!/usr/bin/env bash
# Records mqtt-tls-keepalive.pcap beside this script: three MQTT sessions over TLS with a keep alive of 900 s, as cloud
# SDKs use (AWS IoT's device SDKs default to 1,200 s), between network namespaces on a veth pair, against mosquitto:
#   tls-meter-1   port 8883 (MQTT over TLS, IANA), no ALPN
#   tls-meter-2   port 443 with ALPN x-amzn-mqtt-ca (how AWS IoT Core takes MQTT on 443)
#   tls-meter-3   port 443 without ALPN: to a sensor, TLS on 443 like any HTTPS session
# Each: CONNECT, four PUBLISH one second apart, DISCONNECT (mosquitto_pub over TLS 1.3, server-authenticated). The tests
# stretch the silences between the PUBLISHes (rewriting capture times) to what a meter reporting every few minutes would
# show. Addresses from 192.0.2.0/24, no route out; namespaces named kt-*, deleted by name. Needs root, iproute2, tcpdump,
# openssl, mosquitto + mosquitto-clients. Usage: sudo bash record-tls.sh
. "$(dirname "$0")/../netns-pair.sh"
pair_up kt-dev kt-brk
ip -n kt-dev addr add 192.0.2.21/24 dev eth0
ip -n kt-dev link set eth0 address 24:0a:c4:00:00:21 up
ip -n kt-brk addr add 192.0.2.10/24 dev eth0
ip -n kt-brk link set eth0 address b8:27:eb:00:00:10 up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=keepalive test CA" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=broker.site.example" \
  -keyout "$WORK/broker.key" -out "$WORK/broker.csr" 2>/dev/null
printf 'subjectAltName=IP:192.0.2.10,DNS:broker.site.example\n' > "$WORK/san.ext"
openssl x509 -req -in "$WORK/broker.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial -days 30 \
  -extfile "$WORK/san.ext" -out "$WORK/broker.crt" 2>/dev/null
chmod 644 "$WORK"/*
for port in 8883 443; do
  printf 'user root\nlistener %s 192.0.2.10\nallow_anonymous true\ncafile %s/ca.crt\ncertfile %s/broker.crt\nkeyfile %s/broker.key\n' \
    "$port" "$WORK" "$WORK" "$WORK" > "$WORK/$port.conf"
  ip netns exec kt-brk mosquitto -c "$WORK/$port.conf" >"$WORK/mosquitto-$port.log" 2>&1 & PIDS="$PIDS $!"
done
sleep 1.5
ip netns exec kt-dev tcpdump -i eth0 -s 0 -U -w "$HERE/mqtt-tls-keepalive.pcap" tcp 2>"$WORK/tcpdump.err" & TP=$!
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
pub() { # client port [extra args]
  local id=$1 port=$2; shift 2
  ip netns exec kt-dev mosquitto_pub -h 192.0.2.10 -p "$port" --cafile "$WORK/ca.crt" -k 900 -i "$id" \
    -t "site/$id/energy" -m 1000 --repeat 4 --repeat-delay 1 "$@"
}
pub tls-meter-1 8883
pub tls-meter-2 443 --tls-alpn x-amzn-mqtt-ca
pub tls-meter-3 443
sleep 1
kill $TP; wait $TP 2>/dev/null || true
