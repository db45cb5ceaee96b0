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
#   dns-cloud.pcap     what IoT devices resolve in the cloud: AWS IoT Core data endpoints (a random 14-character
#                      account identifier, "-ats.iot.", the region) in eight regions, an Elastic Load Balancing name, an S3
#                      bucket named by a UUID, CloudFront, Azure IoT Hub and Blob storage names (identifiers made up here,
#                      from a seeded generator), answered by dnsmasq with documentation addresses: no tunnel.
# Re-runnable: ./record.sh (needs dnsmasq, dig, tcpdump, python3, ip); ONLY=dns-cloud ./record.sh records one sample.
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
    --address=/amazonaws.com/192.0.2.31 --address=/amazonaws.com.cn/192.0.2.32 --address=/cloudfront.net/192.0.2.33 \
    --address=/azure-devices.net/192.0.2.34 --address=/windows.net/192.0.2.35 \
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
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

if want dns-dnsmasq; then
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
fi

if want dns-tunnel; then
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
fi

if want mdns; then
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
fi

if want dns-cloud; then
# 4. Cloud endpoints with machine-made names.
python3 - "$tmp/cloud" <<'PY'
import random, sys, uuid
random.seed(22)
alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
ident = lambda n: "".join(random.choice(alnum) for _ in range(n))
names = [f"{ident(14)}-ats.iot.{r}.amazonaws.com A" for r in
         ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "eu-north-1", "ap-southeast-2", "ap-northeast-1", "ca-central-1"]]
names += [f"{ident(14)}-ats.iot.cn-northwest-1.amazonaws.com.cn A",
          f"{ident(14)}.credentials.iot.eu-central-1.amazonaws.com A",
          f"prod-device-shadow-{ident(8)}.eu-central-1.elb.amazonaws.com A",
          f"{uuid.UUID(int=random.getrandbits(128))}.s3.eu-west-1.amazonaws.com A",
          f"{ident(14)}.cloudfront.net A",
          f"iothub-{ident(10)}.azure-devices.net A",
          f"st{ident(16)}.blob.core.windows.net A"]
with open(sys.argv[1], "w") as f:
    f.write("\n".join(names) + "\n")
PY
cap=$(capture dns-cloud.pcap "udp port 5300")
sleep 1
dig @127.0.0.77 -p 5300 +tries=1 +timeout=2 -f "$tmp/cloud" >/dev/null
sleep 1
kill "$cap"; wait "$cap" 2>/dev/null || true
fi
ls -l ./*.pcap
