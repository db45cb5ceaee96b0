#!/bin/sh
# Records mqtt-mosquitto.pcap: real mosquitto 2.0 clients and broker on 127.0.0.1:18831 (not the usual port, so a
# dissector must recognise MQTT by content). Needs root (tcpdump on lo), mosquitto and mosquitto-clients.
# Covers MQTT 3.1 (MQIsdp), 3.1.1 and 5.0 (properties, will, topic alias), QoS 0/1/2, retain, a 100,000-byte
# PUBLISH spanning several TCP segments, and refused logins (3.1.1 return code 5, 5.0 reason code 0x87).
# Usage: sh record-mqtt-sample.sh   (writes mqtt-mosquitto.pcap in the current directory)
set -eu
PORT=18831
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
password_file $WORK/passwd
persistence false
log_dest none
user root
CONF
touch "$WORK/passwd"
chmod 600 "$WORK/passwd"
mosquitto_passwd -b "$WORK/passwd" alice wonderland
head -c 100000 /dev/zero | tr '\0' 'x' > "$WORK/blob.bin"

mosquitto -c "$WORK/mosquitto.conf" & MPID=$!
tcpdump -i lo -s 0 -U -w mqtt-mosquitto.pcap "tcp port $PORT" 2>/dev/null & TPID=$!
sleep 1
mosquitto_sub -p $PORT -V 311 -i sub311 -q 1 -t 'sensors/#' -C 4 >/dev/null & SPID=$!
mosquitto_sub -p $PORT -V 5 -i sub5 -q 2 -t 'files/#' -t 'sensors/t3' -C 2 >/dev/null & S5PID=$!
sleep 0.5
mosquitto_pub -p $PORT -V 31 -i pub31 -t sensors/t1 -m 21.5
mosquitto_pub -p $PORT -V 311 -i pub311 -u alice -P wonderland -q 2 -r -t sensors/t2 -m hello
mosquitto_pub -p $PORT -V 5 -i pub5 -q 1 -t sensors/t3 -m '{"a":1}' \
  -D connect session-expiry-interval 30 -D connect receive-maximum 10 -D publish content-type application/json \
  -D publish message-expiry-interval 60 -D publish user-property k v \
  --will-topic clients/pub5 --will-payload gone --will-qos 1
printf 'one\ntwo\nthree\n' | mosquitto_pub -p $PORT -V 5 -i alias5 -t sensors/alias -D publish topic-alias 1 -l
mosquitto_pub -p $PORT -V 311 -i big -q 1 -t files/blob -f "$WORK/blob.bin"
mosquitto_pub -p $PORT -V 311 -i bad -u alice -P wrong -t x -m y || true
mosquitto_pub -p $PORT -V 5 -i bad5 -u alice -P wrong -t x -m y || true
sleep 1
kill $SPID $S5PID 2>/dev/null || true
sleep 0.5
kill $TPID
kill $MPID
wait 2>/dev/null || true
