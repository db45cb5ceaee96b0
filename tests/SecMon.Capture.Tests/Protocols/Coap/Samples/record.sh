#!/bin/sh
# Records the CoAP samples beside this script with real libcoap 4.3 peers (coap-client-notls / coap-server-notls,
# Debian package libcoap3-bin) on loopback, in 127.83.0.0/24 (apart from other recordings). Needs root (tcpdump on lo).
# Re-runnable; writes into the current directory:
#
#   coap-libcoap.pcap  one client (127.83.0.1) and one server on 127.83.0.2:5690 (not the usual port, so a dissector must
#                      recognise CoAP by content): .well-known/core discovery, GET with a query, PUT, POST, DELETE of a
#                      dynamic resource, a NON request, observe (RFC 7641) of /time for 3 s, block-wise PUT (Block1)
#                      and GET (Block2) of 700 bytes in 64-byte blocks, a separate response (/async: an empty ACK first,
#                      the answer later as its own CON), and a GET to 127.83.0.3:5691 where nothing listens (never
#                      answered: retransmitted, then given up).
#   coap-sweep.pcap    one client (127.83.0.50) asking /.well-known/core of ten servers 127.83.0.11-20 on 5683 (a discovery
#                      sweep), then writing to one of them; a second client (127.83.0.60) writes to 127.83.0.11 six
#                      seconds later (a new writer after a short learning period: analyze --learning 3s).
#   coap-tcp.pcap      CoAP over TCP (RFC 8323): one client (127.83.0.1) and one server on 127.83.0.2:5693 (not 5683, so a
#                      dissector must recognise it by content: the CSM signalling message each side sends first), one
#                      connection per request: .well-known/core, GET with a query, PUT, POST and DELETE, observe of /time
#                      for 3 s, and a block-wise GET (Block2) of 700 bytes in 64-byte blocks.
# Usage: sh record.sh [tcp]   (tcp: record coap-tcp.pcap only)
set -eu
WORK=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
C="coap-client-notls -B 3"

# --- coap-tcp.pcap ---
record_tcp() {
  tcpdump -i lo -s 0 -U --immediate-mode -w coap-tcp.pcap "tcp and net 127.83.0.0/24 and port 5693" 2>/dev/null & TPID=$!
  coap-server-notls -A 127.83.0.2 -p 5693 -d 8 -v 0 & SPID=$!
  PIDS="$PIDS $SPID"
  sleep 1
  T=coap+tcp://127.83.0.2:5693
  $C -a 127.83.0.1 "$T/.well-known/core" >/dev/null
  $C -a 127.83.0.1 "$T/time?ticks" >/dev/null
  $C -a 127.83.0.1 -m put -t 0 -e 21.5 "$T/sensors/4711/temp" >/dev/null
  $C -a 127.83.0.1 -m post -e on "$T/example_data" >/dev/null 2>&1 || true
  $C -a 127.83.0.1 -m delete "$T/sensors/4711/temp" >/dev/null
  $C -a 127.83.0.1 -s 3 "$T/time" >/dev/null
  head -c 700 /dev/zero | tr '\0' 'x' > "$WORK/blob.txt"
  $C -a 127.83.0.1 -m put -f "$WORK/blob.txt" "$T/example_data" >/dev/null
  $C -a 127.83.0.1 -b 64 "$T/example_data" >/dev/null
  sleep 1.5  # the last packets reach the file before tcpdump stops
  kill $TPID
  kill "$SPID" 2>/dev/null || true
  wait $TPID 2>/dev/null || true
}
record_tcp
if [ "${1:-}" = tcp ]; then
  exit 0
fi

# --- coap-libcoap.pcap ---
tcpdump -i lo -s 0 -U --immediate-mode -w coap-libcoap.pcap "udp and net 127.83.0.0/24 and (port 5690 or port 5691)" 2>/dev/null & TPID=$!
coap-server-notls -A 127.83.0.2 -p 5690 -d 8 -v 0 & PIDS="$PIDS $!"
sleep 1
S=coap://127.83.0.2:5690
$C -a 127.83.0.1 "$S/.well-known/core" >/dev/null
$C -a 127.83.0.1 "$S/time?ticks" >/dev/null
$C -a 127.83.0.1 -m put -t 0 -e 21.5 "$S/sensors/4711/temp" >/dev/null
$C -a 127.83.0.1 -m post -e on "$S/example_data" >/dev/null 2>&1 || true
$C -a 127.83.0.1 -m delete "$S/sensors/4711/temp" >/dev/null
$C -a 127.83.0.1 -N "$S/example_data" >/dev/null
$C -a 127.83.0.1 -s 3 "$S/time" >/dev/null
head -c 700 /dev/zero | tr '\0' 'x' > "$WORK/blob.txt"
$C -a 127.83.0.1 -b 64 -m put -f "$WORK/blob.txt" "$S/example_data" >/dev/null
$C -a 127.83.0.1 -b 64 "$S/example_data" >/dev/null
$C -a 127.83.0.1 -B 4 "$S/async?1" >/dev/null
coap-client-notls -a 127.83.0.1 -B 2 "coap://127.83.0.3:5691/lost" >/dev/null 2>&1 || true
sleep 1.5  # the last packets reach the file before tcpdump stops
kill $TPID
for p in $PIDS; do kill "$p" 2>/dev/null || true; done
PIDS=""
wait 2>/dev/null || true

# --- coap-sweep.pcap ---
tcpdump -i lo -s 0 -U --immediate-mode -w coap-sweep.pcap "udp port 5683 and net 127.83.0.0/24" 2>/dev/null & TPID=$!
for i in 11 12 13 14 15 16 17 18 19 20; do
  coap-server-notls -A 127.83.0.$i -p 5683 -d 4 -v 0 & PIDS="$PIDS $!"
done
sleep 1
$C -a 127.83.0.60 -m put -e 1 "coap://127.83.0.11/valve/1" >/dev/null
for i in 11 12 13 14 15 16 17 18 19 20; do
  $C -a 127.83.0.50 "coap://127.83.0.$i/.well-known/core" >/dev/null
done
sleep 6
$C -a 127.83.0.50 -m put -e 0 "coap://127.83.0.11/valve/1" >/dev/null
$C -a 127.83.0.60 -m put -e 1 "coap://127.83.0.11/valve/1" >/dev/null
sleep 1.5  # the last packets reach the file before tcpdump stops
kill $TPID
wait $TPID 2>/dev/null || true
