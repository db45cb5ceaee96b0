#!/usr/bin/env bash
# Records mqtt-keepalive.pcap beside this script: two MQTT sessions with a long keep alive, as battery meters and cloud
# SDKs use (AWS IoT's device SDKs default to 1,200 s), between network namespaces on a veth pair.
#   meter-7   MQTT 3.1.1, keep alive 900 s, to mosquitto 192.0.2.10:1883: CONNECT, four PUBLISH one second apart,
#             DISCONNECT (a raw client in Python, so the keep alive is exactly what the CONNECT says)
#   meter-8   MQTT 5.0, keep alive 900 s, to a second mosquitto on 192.0.2.10:1884 with max_keepalive 120: its CONNACK
#             carries Server Keep Alive 120 (MQTT 5.0 §3.2.2.3.14), then four PUBLISH one second apart (mosquitto_pub)
#   meter-9   MQTT 3.1.1, keep alive 0 (off: the broker never closes it for silence), to 192.0.2.10:1883, as meter-7
# The tests stretch the silences between the PUBLISHes (rewriting capture times) to what a meter reporting every few
# minutes would show. Addresses from 192.0.2.0/24, no route out; namespaces named ka-*, deleted by name. Needs root,
# iproute2, tcpdump, python3, mosquitto + mosquitto-clients. Usage: sudo bash record.sh
. "$(dirname "$0")/../netns-pair.sh"
pair_up ka-dev ka-brk
ip -n ka-dev addr add 192.0.2.21/24 dev eth0
ip -n ka-dev link set eth0 address 24:0a:c4:00:00:21 up
ip -n ka-brk addr add 192.0.2.10/24 dev eth0
ip -n ka-brk link set eth0 address b8:27:eb:00:00:10 up
printf 'listener 1883 192.0.2.10\nallow_anonymous true\n' > "$WORK/a.conf"
printf 'listener 1884 192.0.2.10\nallow_anonymous true\nmax_keepalive 120\n' > "$WORK/b.conf"
chmod 644 "$WORK"/*.conf
ip netns exec ka-brk mosquitto -c "$WORK/a.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec ka-brk mosquitto -c "$WORK/b.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 1.5
ip netns exec ka-dev tcpdump -i eth0 -s 0 -U -w "$HERE/mqtt-keepalive.pcap" tcp 2>"$WORK/tcpdump.err" & TP=$!
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
ip netns exec ka-dev python3 - <<'PY'
import socket, struct, time
def s(b): return struct.pack("!H", len(b)) + b
def session(client, keep_alive):
    c = socket.create_connection(("192.0.2.10", 1883))
    body = s(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", keep_alive) + s(client)  # 3.1.1, clean session
    c.sendall(bytes([0x10, len(body)]) + body)
    c.recv(4)
    for i in range(4):
        b = s(b"site/" + client + b"/energy") + str(1000 + i).encode()
        c.sendall(bytes([0x30, len(b)]) + b)
        time.sleep(1)
    c.sendall(b"\xe0\x00")
    c.close()
session(b"meter-7", 900)
session(b"meter-9", 0)
PY
sleep 0.5
ip netns exec ka-dev mosquitto_pub -h 192.0.2.10 -p 1884 -V mqttv5 -k 900 -i meter-8 -t site/meter-8/energy -m 2000 \
  --repeat 4 --repeat-delay 1
sleep 1
kill $TP; wait $TP 2>/dev/null || true
