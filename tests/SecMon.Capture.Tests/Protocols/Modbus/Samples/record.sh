#!/bin/sh
# Records the Modbus/TCP samples beside this script from real peers on loopback (not port 502, so a dissector must
# recognise Modbus by content): the server is modbus-serial's ServerTCP (npm, version pinned by peer/package-lock.json,
# installed into a temporary directory), the client mbpoll (Debian package), plus peer/client.cjs for what mbpoll
# cannot send (diagnostics, device identification, mask write, read/write multiple, sweeps) from another address.
# Needs root (tcpdump on lo), node/npm, mbpoll, tcpdump.
#   modbus-mbpoll.pcap  one mbpoll run per function: reads 1-4, single writes 5 and 6, multiple writes 15 and 16,
#                       an exception (registers 150-151: illegal data address)
#   modbus-hmi.pcap     an HMI polling 10 holding registers every 200 ms on one long connection (normal traffic)
#   modbus-rogue.pcap   the HMI (127.0.0.1) writes one register, then 5 s later 127.0.0.9 writes registers and a coil,
#                       asks for diagnostics and device identification, sweeps function codes 1-40 and unit ids 2-24
# Usage: sh record.sh   (writes the three pcaps in the current directory)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
HOST=127.0.0.2
PORT=1502
WORK=$(mktemp -d)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp "$HERE/peer/package.json" "$HERE/peer/package-lock.json" "$HERE/peer/server.cjs" "$HERE/peer/client.cjs" "$WORK/"
(cd "$WORK" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null)
node "$WORK/server.cjs" $HOST $PORT >/dev/null & SPID=$!
for _ in $(seq 100); do ss -ltn | grep -q "$HOST:$PORT " && break; sleep 0.1; done

record() { # record FILE COMMAND...
  out=$1; shift
  tcpdump -i lo -s 0 -U -w "$out" "tcp port $PORT" 2>"$WORK/tcpdump.err" & TPID=$!
  for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
  "$@"
  sleep 1
  kill $TPID; wait $TPID 2>/dev/null || true
}

mbpoll_runs() {
  M="mbpoll -m tcp -p $PORT -a 1 -1 -o 0.5"
  $M -t 0 -r 1 -c 8 $HOST >/dev/null || true
  $M -t 1 -r 1 -c 8 $HOST >/dev/null || true
  $M -t 4 -r 1 -c 5 $HOST >/dev/null || true
  $M -t 3 -r 1 -c 4 $HOST >/dev/null || true
  $M -t 0 -r 5 $HOST 1 >/dev/null || true
  $M -t 4 -r 10 $HOST 1234 >/dev/null || true
  $M -t 0 -r 20 $HOST 1 0 1 >/dev/null || true
  $M -t 4 -r 30 $HOST 7 8 9 >/dev/null || true
  $M -t 4 -r 150 -c 2 $HOST >/dev/null || true
}

hmi() {
  timeout -s INT 3 mbpoll -m tcp -p $PORT -a 1 -t 4 -r 1 -c 10 -l 200 $HOST >/dev/null || true
}

rogue() {
  mbpoll -m tcp -p $PORT -a 1 -1 -t 4 -r 50 $HOST 17 >/dev/null
  mbpoll -m tcp -p $PORT -a 1 -1 -t 4 -r 1 -c 10 $HOST >/dev/null
  sleep 5
  node "$WORK/client.cjs" 127.0.0.9 $HOST $PORT rogue
}

record modbus-mbpoll.pcap mbpoll_runs
record modbus-hmi.pcap hmi
record modbus-rogue.pcap rogue
