#!/bin/bash
# Records service-probe.pcap beside this script: nmap's service and version detection with its default scripts
# (nmap -sV -sC, TCP and UDP) against real IoT-site services on loopback, as an intruder or an asset inventory tool
# runs it. The probes are many protocols' worth of odd and wrong input sent to every port (HTTP, TLS, SIP, RPC... to
# MQTT, Modbus and Telnet), and the scripts log in (ftp-anon), subscribe to everything (mqtt-subscribe), read
# .well-known/core (coap-resources) and the DNS server's version (dns-nsid).
#   127.0.0.30: vsftpd (21, anonymous), inetutils telnetd under inetutils-inetd (23), dnsmasq (53 UDP and TCP),
#   python3 http.server (80), modbus-serial's ServerTCP (502, from ../../../SecMon.Capture.Tests/Protocols/Modbus/
#   Samples/peer), mosquitto (1883, anonymous), openssl s_server -www (8443, a self-signed P-256 certificate),
#   coap-server-openssl (5683 UDP)
#   nmap -n -Pn -sV -sC -p 21,23,53,80,502,1883,8443, then -sU -sV -sC -p 53,5683, from 127.0.0.1 (about 4 minutes)
# Needs root (tcpdump on lo, telnetd), nmap, vsftpd, inetutils-inetd + inetutils-telnetd, dnsmasq, python3, node + npm,
# mosquitto, openssl, libcoap3-bin, tcpdump. Only 127.0.0.0/8 is touched; every process is killed by its PID.
# Usage: sudo bash record.sh   (writes service-probe.pcap beside this script)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d); chmod 755 $W
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf $W' EXIT
H=127.0.0.30
printf 'listener 1883 %s\nallow_anonymous true\n' $H > $W/m.conf; chmod 644 $W/m.conf
mosquitto -c $W/m.conf >/dev/null 2>&1 & PIDS="$PIDS $!"
dnsmasq --no-daemon --port=53 --listen-address=$H --bind-interfaces --no-resolv --no-hosts --conf-file=/dev/null --address=/site.example/192.0.2.5 >/dev/null 2>&1 & PIDS="$PIDS $!"
mkdir -p $W/www && echo hello > $W/www/index.html
python3 -m http.server 80 --bind $H --directory $W/www >/dev/null 2>&1 & PIDS="$PIDS $!"
mkdir -p $W/ftp && chmod 555 $W/ftp
cat > $W/vsftpd.conf <<C
listen=YES
listen_address=$H
listen_port=21
anonymous_enable=YES
anon_root=$W/ftp
local_enable=NO
background=NO
secure_chroot_dir=$W/ftp
seccomp_sandbox=NO
C
vsftpd $W/vsftpd.conf >/dev/null 2>&1 & PIDS="$PIDS $!"
printf '%s:23 stream tcp nowait root /usr/sbin/telnetd telnetd -h\n' $H > $W/inetd.conf
/usr/sbin/inetutils-inetd -d $W/inetd.conf >/dev/null 2>&1 & PIDS="$PIDS $!"
M=$HERE/../../../SecMon.Capture.Tests/Protocols/Modbus/Samples/peer
cp $M/package.json $M/package-lock.json $M/server.cjs $W/ && (cd $W && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null)
node $W/server.cjs $H 502 >/dev/null 2>&1 & PIDS="$PIDS $!"
coap-server-openssl -A $H -p 5683 >/dev/null 2>&1 & PIDS="$PIDS $!"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $W/k.pem -out $W/c.pem -days 30 -subj /CN=gw.site.example 2>/dev/null
openssl s_server -accept $H:8443 -key $W/k.pem -cert $W/c.pem -www -quiet >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 2
tcpdump -i lo -s 0 -U -w "$HERE/service-probe.pcap" host $H 2>$W/td.err & TP=$!
for _ in $(seq 50); do grep -q listening $W/td.err && break; sleep 0.1; done
nmap -n -Pn -sV -sC -p 21,23,53,80,502,1883,8443 $H >/dev/null 2>&1 || true
nmap -n -Pn -sU -sV -sC -p 53,5683 $H >/dev/null 2>&1 || true
sleep 1
kill $TP; wait $TP 2>/dev/null || true
