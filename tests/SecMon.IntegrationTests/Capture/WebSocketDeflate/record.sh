#!/usr/bin/env bash
# Records mqtt-ws-deflate.pcap beside this script: MQTT over WebSocket with permessage-deflate (RFC 7692), between
# network namespaces on a veth pair. The broker side runs mosquitto and, in front of it, the npm `ws` server with
# compression agreed (bridge.mjs, as EMQX and HiveMQ offer it on ws://); the device side runs MQTT.js (client.mjs:
# CONNECT with a user name and password, SUBSCRIBE, five QoS 1 PUBLISHes echoed back, DISCONNECT). Messages of 32
# bytes or more go compressed, shorter ones not. Addresses from 192.0.2.0/24, no route out; namespaces named wd-*,
# deleted by name. Needs root, iproute2, tcpdump, mosquitto, node and npm (ws 8 and mqtt 5 are installed in a temporary
# directory). Usage: sudo bash record.sh
. "$(dirname "$0")/../netns-pair.sh"
pair_up wd-dev wd-brk
ip -n wd-dev addr add 192.0.2.21/24 dev eth0
ip -n wd-dev link set eth0 address 02:00:5e:00:00:21 up
ip -n wd-brk addr add 192.0.2.10/24 dev eth0
ip -n wd-brk link set eth0 address 02:00:5e:00:00:10 up
(cd "$WORK" && npm init -y >/dev/null && npm install --no-audit --no-fund ws@8 mqtt@5 >/dev/null 2>&1)
cp "$HERE/bridge.mjs" "$HERE/client.mjs" "$WORK/"
printf 'listener 1883 127.0.0.1\nallow_anonymous true\n' > "$WORK/mosquitto.conf"
ip netns exec wd-brk mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 & PIDS="$PIDS $!"
ip netns exec wd-brk node "$WORK/bridge.mjs" 192.0.2.10 8083 127.0.0.1 1883 >"$WORK/bridge.log" 2>&1 & PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q listening "$WORK/bridge.log" && break; sleep 0.1; done
ip netns exec wd-dev tcpdump -i eth0 -s 0 -U -w "$HERE/mqtt-ws-deflate.pcap" tcp port 8083 2>"$WORK/tcpdump.err" & TP=$!
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
ip netns exec wd-dev node "$WORK/client.mjs" ws://192.0.2.10:8083/mqtt
sleep 0.5
kill $TP; wait $TP 2>/dev/null || true
