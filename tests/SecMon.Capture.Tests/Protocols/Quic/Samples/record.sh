#!/bin/sh
# Records the QUIC samples on loopback (127.0.0.6), with quicpeer.go (beside this script; quic-go 0.29 from Debian's
# golang-github-lucas-clemente-quic-go-dev, built with Debian's golang-go) and Debian's chromium. Needs root (tcpdump).
#  quic-go.pcap        quicpeer client -> server, QUIC v1, ALPN mqtt on 14567 (MQTT over QUIC's port): SNI
#                      broker.example, a message echoed, a clean close; then the same to a server that sends a Retry
#                      first (14568), so the client's Initials change their Destination Connection ID; then to a
#                      server that takes only P-256 (14569): a HelloRetryRequest, a second ClientHello.
#  quic-chromium.pcap  chromium (headless, QUIC forced for sensor.example:443) -> quicpeer server with ALPN h3: the
#                      handshake completes (the certificate is not checked), then HTTP/3 fails (the peer only echoes);
#                      then chromium to 127.0.0.7:443, where a socket takes the datagrams and never answers: its
#                      Initials repeated, the ClientHello scattered over CRYPTO frames in a different order each time.
# Usage: sh record.sh   (writes the pcaps in the current directory; ONLY="quic-go.pcap ..." records only those)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
PIDS=""
trap 'kill $PIDS 2>/dev/null || true; rm -rf "$WORK"' EXIT
want() { [ -z "${ONLY:-}" ] || case " $ONLY " in *" $1 "*) ;; *) return 1 ;; esac; }

cp "$HERE/quicpeer.go" "$WORK/"
(cd "$WORK" && GOPATH=/usr/share/gocode GO111MODULE=off go build -o quicpeer quicpeer.go)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=broker.example -days 2 \
  -addext subjectAltName=DNS:broker.example,DNS:sensor.example -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
Q="$WORK/quicpeer"

capture() { tcpdump -i lo -s 0 -U -w "$1" "$2" 2>/dev/null & TPID=$!; PIDS="$PIDS $TPID"; sleep 1; }
stop() { sleep 1; kill $TPID; wait $TPID 2>/dev/null || true; }

if want quic-go.pcap; then
  $Q server 127.0.0.6:14567 "$WORK/cert.pem" "$WORK/key.pem" mqtt & PIDS="$PIDS $!"
  $Q server 127.0.0.6:14568 "$WORK/cert.pem" "$WORK/key.pem" mqtt retry & PIDS="$PIDS $!"
  $Q server 127.0.0.6:14569 "$WORK/cert.pem" "$WORK/key.pem" mqtt hrr & PIDS="$PIDS $!"
  sleep 1
  capture quic-go.pcap "udp and host 127.0.0.6"
  $Q client 127.0.0.6:14567 broker.example mqtt 'meter-7 hello'
  sleep 1
  $Q client 127.0.0.6:14568 broker.example mqtt 'meter-8 hello'
  sleep 1
  $Q client 127.0.0.6:14569 broker.example mqtt 'meter-9 hello'
  stop
fi

if want quic-chromium.pcap; then
  $Q server 127.0.0.6:443 "$WORK/cert.pem" "$WORK/key.pem" h3 & PIDS="$PIDS $!"
  python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.7', 443)); s.settimeout(1)
end = time.time() + 15
while time.time() < end:
    try: s.recv(2048)
    except OSError: pass
" & PIDS="$PIDS $!"
  sleep 1
  capture quic-chromium.pcap "udp port 443"
  for target in 127.0.0.6 127.0.0.7; do
    timeout 8 chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$WORK/profile-$target" --enable-quic \
      --origin-to-force-quic-on=sensor.example:443 --host-resolver-rules="MAP sensor.example $target" \
      --ignore-certificate-errors --dump-dom https://sensor.example/ >/dev/null 2>&1 || true
  done
  stop
fi
