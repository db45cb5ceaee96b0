#!/usr/bin/env bash
# Records the DNS samples of this folder from real peers on loopback (run as root: tcpdump and a network namespace).
#   dns-dnsmasq.pcap   dig against dnsmasq on 127.0.0.77:5300, UDP and TCP: A, AAAA, CNAME, TXT, MX, SRV, NXDOMAIN,
#                      plus one query to 127.0.0.79:5300 where nothing listens (never answered), and unicast DNS on
#                      port 5353 (dnsmasq on 127.0.0.78:5353): plain DNS, not mDNS.
#   dns-tunnel.pcap    60 TXT queries with long random labels under t.tunnel.example from one client (dig -f), and a few
#                      ordinary names: what the tunnelling rules of rules/dns.yaml report.
#   mdns.pcap          multicast DNS in a network namespace whose lo carries multicast: dig's legacy unicast query to
#                      224.0.0.251:5353, and a responder's announcement (A, SRV, TXT, PTR) built by mdns-announce.py
#                      (no mDNS daemon is installed; the announcement is hand-built, sent by the kernel's UDP stack).
# Re-runnable: ./record.sh (needs dnsmasq, dig, tcpdump, python3, ip).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del secmon-mdns 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

start_dnsmasq() { # address port
  dnsmasq --no-daemon --port="$2" --listen-address="$1" --bind-interfaces --no-resolv --no-hosts --conf-file=/dev/null \
    --address=/sensor-1.plant.example/192.0.2.21 --address=/sensor-1.plant.example/2001:db8::21 \
    --cname=www.plant.example,sensor-1.plant.example \
    --txt-record=config.plant.example,"v=secmon1 mode=test","second string" \
    --mx-host=plant.example,mail.plant.example,10 \
    --srv-host=_mqtt._tcp.plant.example,broker.plant.example,1883,0,5 \
    --address=/tunnel.example/198.51.100.9 \
    --local=/plant.example/ >"$tmp/dnsmasq-$2.log" 2>&1 &
  pids+=($!)
}

capture() { # file filter [netns]
  if [ -n "${3:-}" ]; then ip netns exec "$3" tcpdump -i lo -s 0 -U -w "$1" "$2" >/dev/null 2>&1 & else tcpdump -i lo -s 0 -U -w "$1" "$2" >/dev/null 2>&1 & fi
  echo $!
}

start_dnsmasq 127.0.0.77 5300
start_dnsmasq 127.0.0.78 5353
sleep 1

# 1. Ordinary DNS over UDP and TCP.
cap=$(capture dns-dnsmasq.pcap "udp port 5300 or tcp port 5300 or udp port 5353")
sleep 1
d="dig @127.0.0.77 -p 5300 +tries=1 +timeout=2"
$d sensor-1.plant.example A
$d sensor-1.plant.example AAAA
$d www.plant.example A
$d config.plant.example TXT
$d plant.example MX
$d _mqtt._tcp.plant.example SRV
$d missing.plant.example A
$d +tcp sensor-1.plant.example A
$d +tcp config.plant.example TXT
$d +tcp missing.plant.example AAAA
dig @127.0.0.79 -p 5300 +tries=1 +timeout=1 nobody-home.plant.example A || true
dig @127.0.0.78 -p 5353 +tries=1 +timeout=2 sensor-1.plant.example A
sleep 1
kill "$cap"; wait "$cap" 2>/dev/null || true

# 2. Tunnelling-like traffic: 60 TXT queries with 40-50 random base32 characters each, then ordinary names.
python3 - "$tmp/names" <<'PY'
import random, sys
random.seed(15)
alphabet = "abcdefghijklmnopqrstuvwxyz234567"
with open(sys.argv[1], "w") as f:
    for i in range(60):
        n = random.randint(40, 50)
        label = "".join(random.choice(alphabet) for _ in range(n))
        f.write(f"{label}.{i}.t.tunnel.example TXT\n")
    for name in ["sensor-1.plant.example A", "www.plant.example A", "config.plant.example TXT"]:
        f.write(name + "\n")
PY
cap=$(capture dns-tunnel.pcap "udp port 5300")
sleep 1
dig @127.0.0.77 -p 5300 +tries=1 +timeout=2 -f "$tmp/names" >/dev/null
sleep 1
kill "$cap"; wait "$cap" 2>/dev/null || true

# 3. mDNS in a namespace (loopback of the host carries no multicast).
ip netns add secmon-mdns
ip netns exec secmon-mdns ip link set lo multicast on
ip netns exec secmon-mdns ip link set lo up
ip netns exec secmon-mdns ip route add 224.0.0.0/4 dev lo
cap=$(capture mdns.pcap "udp port 5353" secmon-mdns)
sleep 1
ip netns exec secmon-mdns python3 ./mdns-announce.py
ip netns exec secmon-mdns dig @224.0.0.251 -p 5353 +tries=1 +timeout=1 sensor-7.local A || true
sleep 1
kill "$cap"; wait "$cap" 2>/dev/null || true
ls -l ./*.pcap
