#!/bin/sh
# Records the scan samples beside this script: real nmap scans on loopback against listeners that listeners.py opens
# (so which ports are open is known), and an ordinary busy client for contrast. Needs root (tcpdump on lo, nmap -sS),
# nmap, tcpdump, python3. Only 127.0.0.0/8 is touched; ports above 1024.
#   tcp-syn-scan.pcap      nmap -sS of 127.0.0.2 ports 20000-20039; open: 20007, 20022, 20031
#   tcp-connect-scan.pcap  nmap -sT of 127.0.0.2 ports 20000-20039; open: 20007, 20022, 20031
#   udp-scan.pcap          nmap -sU of 127.0.0.3 ports 20050-20079; answering: 20053, 20061 (the rest: ICMP port
#                          unreachable, which nmap waits for, rate-limited by the kernel)
#   sweep.pcap             nmap -sS of port 20080 on 127.0.1.1-40; open on 127.0.1.7 and 127.0.1.23
#   busy-client.pcap       25 connections to 127.0.0.4:20502 100 ms apart, each answered (not a scan)
# Usage: sh record.sh   (writes the pcaps in the current directory)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
LPID=
trap 'if [ -n "$LPID" ]; then kill $LPID 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

python3 "$HERE/listeners.py" tcp:127.0.0.2:20007 tcp:127.0.0.2:20022 tcp:127.0.0.2:20031 \
  udp:127.0.0.3:20053 udp:127.0.0.3:20061 tcp:127.0.1.7:20080 tcp:127.0.1.23:20080 tcp:127.0.0.4:20502 \
  >"$WORK/listeners.out" & LPID=$!
for _ in $(seq 100); do grep -q listening "$WORK/listeners.out" && break; sleep 0.1; done

record() { # record FILE FILTER COMMAND...
  out=$1; filter=$2; shift 2
  tcpdump -i lo -s 128 -U -w "$out" "$filter" 2>"$WORK/tcpdump.err" & TPID=$!
  for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" && break; sleep 0.1; done
  "$@" >/dev/null
  sleep 1
  kill $TPID; wait $TPID 2>/dev/null || true
}

NMAP="nmap -n -Pn --max-retries 0"
record tcp-syn-scan.pcap "host 127.0.0.2" $NMAP -sS -p 20000-20039 127.0.0.2
record tcp-connect-scan.pcap "host 127.0.0.2" $NMAP -sT -p 20000-20039 127.0.0.2
record udp-scan.pcap "host 127.0.0.3" $NMAP -sU -p 20050-20079 127.0.0.3
record sweep.pcap "net 127.0.1.0/24" $NMAP -sS -p 20080 127.0.1.1-40
record busy-client.pcap "host 127.0.0.4" python3 "$HERE/client.py" 127.0.0.4 20502 25 0.1
