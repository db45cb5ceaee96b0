#!/usr/bin/env bash
# Records the traffic-mirror samples beside this script: a switch (a Linux bridge) mirrors one port, both directions,
# to a collector over VXLAN, as a cloud's traffic mirror or a virtual switch's tap does; the collector's tcpdump
# records what arrives. The mirroring and the encapsulation are the kernel's own (tc mirred, a vxlan link), so the
# headers are what a real sender puts on the wire. (ERSPAN and GRE would be recorded the same way with erspan and
# gretap links; this machine's kernel has no GRE support, so those stay built at test time: TunnelTests.)
#
#   sensor (192.0.2.21, mosquitto_pub, 3 messages QoS 0 and 1) -- br0 in mr-sw -- broker (192.0.2.10, mosquitto)
#   mr-sw mirrors p-dev (the sensor's port) to the collector 198.51.100.2 from 198.51.100.1 over the tunnel
#
#   mirror-direct.pcap     the sensor's port captured on the switch itself (the truth)
#   mirror-vxlan.pcap      the same exchange mirrored in VXLAN, VNI 42, UDP 4789 (the outer UDP source port is the
#                          kernel's hash of the inner flow)
#   mirror-vxlan-both.pcap both the sensor's and the broker's ports mirrored: every packet arrives twice, once as it
#                          enters the switch and once as it leaves it
#   mirror-vxlan-rx.pcap   the sensor's port mirrored in its receive direction only (what enters the switch from the
#                          sensor), as a SPAN session configured "rx": one direction of each connection
# ONLY=NAME (without .pcap) records one sample.
# Every run sends the same exchange again (a new MQTT session per sample). Addresses from the documentation ranges,
# no route out; namespaces named mr-*, deleted by name. Needs root, iproute2 (tc), nftables, tcpdump, mosquitto +
# mosquitto-clients. Usage: sudo bash record.sh   (writes the pcaps beside this script)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
NS="mr-sw mr-brk mr-dev mr-col"
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
ip -n mr-sw link add br0 type bridge
ip -n mr-sw link set br0 up
port() { # port NS MAC IP
  ip -n mr-sw link add "p-${1#mr-}" type veth peer name eth0 netns "$1"
  ip -n mr-sw link set "p-${1#mr-}" master br0 up
  ip -n "$1" link set eth0 address "$2" up
  ip -n "$1" addr add "$3/24" dev eth0
}
port mr-brk b8:27:eb:00:22:10 192.0.2.10
port mr-dev 24:0a:c4:00:22:21 192.0.2.21
ip -n mr-sw link add up0 type veth peer name eth0 netns mr-col
ip -n mr-sw link set up0 address 02:00:00:00:22:01 up
ip -n mr-sw addr add 198.51.100.1/30 dev up0
ip -n mr-col link set eth0 address 02:00:00:00:22:02 up
ip -n mr-col addr add 198.51.100.2/30 dev eth0
# The collector keeps what arrives to itself (a real one has a listener; no ICMP unreachable back to the switch).
ip netns exec mr-col nft -f - <<'NFT'
table inet mr {
  chain input {
    type filter hook input priority 0;
    iifname "eth0" drop
  }
}
NFT
ip -n mr-sw link add mir-vxlan type vxlan id 42 local 198.51.100.1 remote 198.51.100.2 dstport 4789
ip -n mr-sw link set mir-vxlan up
ip -n mr-sw neigh add 198.51.100.2 lladdr 02:00:00:00:22:02 dev up0 nud permanent

cat >"$WORK/m.conf" <<CONF
listener 1883 192.0.2.10
allow_anonymous true
CONF
chmod 644 "$WORK/m.conf"
ip netns exec mr-brk mosquitto -c "$WORK/m.conf" >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 1.5
ip netns exec mr-dev ping -c 1 -W 2 192.0.2.10 >/dev/null

exchange() { # one MQTT session of the sensor: three publishes
  ip netns exec mr-dev mosquitto_pub -h 192.0.2.10 -i sensor-21 -q 1 -t plant/sensor-21/temp -m 21.5 \
    -r --repeat 3 --repeat-delay 0.2 2>/dev/null || \
    for m in 21.5 21.6 21.7; do ip netns exec mr-dev mosquitto_pub -h 192.0.2.10 -i sensor-21 -q 1 -t plant/sensor-21/temp -m "$m"; done
}

record() { # record OUT NS IF TUNNEL|- PORT...   (mirror each PORT to TUNNEL while recording IF in NS; DIRS: which ways)
  local out=$1 ns=$2 ifname=$3 tunnel=$4
  shift 4
  local ports="$*"
  if [ -n "${ONLY:-}" ] && [ "$ONLY.pcap" != "$out" ]; then return 0; fi
  for p in $ports; do
    tc -n mr-sw qdisc add dev "$p" clsact
    for d in ${DIRS:-ingress egress}; do
      tc -n mr-sw filter add dev "$p" "$d" protocol all u32 match u32 0 0 action mirred egress mirror dev "$tunnel"
    done
  done
  ip netns exec "$ns" tcpdump -i "$ifname" -s 0 -U -w "$HERE/$out" 2>"$WORK/tcpdump.err" & local tpid=$!
  for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
  exchange
  sleep 1
  kill $tpid; wait $tpid 2>/dev/null || true
  for p in $ports; do tc -n mr-sw qdisc del dev "$p" clsact; done
}
record mirror-direct.pcap mr-sw p-dev -
record mirror-vxlan.pcap mr-col eth0 mir-vxlan p-dev
record mirror-vxlan-both.pcap mr-col eth0 mir-vxlan p-dev p-brk
DIRS=ingress record mirror-vxlan-rx.pcap mr-col eth0 mir-vxlan p-dev
ls -l "$HERE"/*.pcap
