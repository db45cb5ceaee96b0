#!/usr/bin/env bash
# Records the TLS and DTLS samples of this folder from real peers on loopback (run as root: tcpdump -i lo).
# Peers: openssl s_server / s_client (TLS 1.0-1.3, DTLS 1.0/1.2, certificates and PSK), mosquitto with mosquitto_pub,
# and libcoap's coap-server-openssl / coap-client-openssl (CoAP over DTLS with a PSK). Every peer runs on 127.0.0.15 with its own
# port and is killed by its PID. Certificates are made here (CA, server, client, self-signed, expired) and thrown away
# with the temporary directory; only the pcaps stay. Re-runnable: each pcap is overwritten; ONLY="tls13-refused ..."
# records only the samples named.
#
# The Debian openssl has no 3DES or RC4 in TLS (no-weak-ssl-ciphers), so the weak-suite sample offers and negotiates
# NULL-SHA256 (eNULL) and anonymous DH instead; RC4/3DES offers are covered by hand-built ClientHellos in the tests.
set -euo pipefail
out="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
cd "$tmp"
ip=127.0.0.15
mkfifo hold && exec 3<>hold

# TLS 1.0/1.1 and weak suites need the floor of Debian's openssl.cnf lifted (MinProtocol TLSv1.2, SECLEVEL 2).
cat > legacy.cnf <<'CNF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = None
CipherString = DEFAULT:@SECLEVEL=0
CNF
export OPENSSL_CONF="$tmp/legacy.cnf"

# --- certificates ---------------------------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 3650 \
  -subj "/O=SecMon Samples/CN=SecMon Sample CA" 2>/dev/null
sign() { # name subject days [extra openssl x509 args]
  openssl req -new -newkey "$4" -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days "$3" 2>/dev/null
}
sign server "/O=SecMon Samples/CN=broker.sample" 3650 rsa:2048
sign client "/O=SecMon Samples/CN=device-42" 3650 ec:<(openssl ecparam -name prime256v1)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout selfsigned.key -out selfsigned.crt -days 3650 \
  -subj "/CN=selfsigned.sample" 2>/dev/null
# An expired certificate: openssl ca takes explicit start and end dates (openssl x509 in 3.0 cannot).
mkdir -p ca/newcerts && : > ca/index.txt && echo 01 > ca/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = sample
[sample]
dir = ./ca
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
policy = anything
[anything]
commonName = supplied
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key -out expired.csr -subj "/CN=expired.sample" 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt \
  -startdate 20200101000000Z -enddate 20210101000000Z -notext 2>/dev/null

# --- recording ------------------------------------------------------------------------------------------------
# record NAME PROTO PORT "server args" "client command"
record() {
  local name=$1 proto=$2 port=$3 server=$4 client=$5
  [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]] || return 0
  tcpdump -i lo -U -s 0 -w "$out/$name.pcap" "$proto and host $ip and port $port" 2>/dev/null & local dump=$!
  sleep 1
  # exec: $! is the server itself; stdin is a FIFO held open (s_server quits at end of input).
  bash -c "exec $server" <&3 >"$name.server.log" 2>&1 & local srv=$!
  pids+=("$dump" "$srv")
  sleep 1
  eval "$client" >"$name.client.log" 2>&1 || true
  sleep 1
  kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true
  kill "$dump" 2>/dev/null || true; wait "$dump" 2>/dev/null || true
  echo "$name.pcap: $(stat -c %s "$out/$name.pcap") bytes"
}
cli() { echo "hello" | timeout 3 openssl s_client -connect "$ip:$1" -servername "$2" -ign_eof "${@:3}"; }

record tls10 tcp 18410 "openssl s_server -accept $ip:18410 -cert server.crt -key server.key -tls1 -cipher DEFAULT:@SECLEVEL=0" \
  "cli 18410 broker.sample -tls1 -cipher DEFAULT:@SECLEVEL=0"
record tls11 tcp 18411 "openssl s_server -accept $ip:18411 -cert server.crt -key server.key -tls1_1 -cipher DEFAULT:@SECLEVEL=0" \
  "cli 18411 broker.sample -tls1_1 -cipher DEFAULT:@SECLEVEL=0"
# Mutual TLS on 8884, the client-certificate MQTT listener of the inventory's posture ports: with and without a client certificate.
record tls12-mutual tcp 8884 "openssl s_server -accept $ip:8884 -cert server.crt -key server.key -CAfile ca.crt -Verify 1 -tls1_2 -alpn mqtt" \
  "cli 8884 broker.sample -tls1_2 -cert client.crt -key client.key -CAfile ca.crt -alpn mqtt"
record tls12-nocert tcp 8884 "openssl s_server -accept $ip:8884 -cert server.crt -key server.key -tls1_2 -alpn mqtt" \
  "cli 8884 broker.sample -tls1_2 -alpn mqtt"
# The client-certificate listener (8884) requiring a certificate (-Verify: fail without one) and refusing a client that
# has none; then MQTT over TLS 1.3 (8883) accepting one that has it: TLS 1.2 (the refusal is a fatal alert in clear) and TLS 1.3 (an encrypted alert, then the end).
record tls12-refused tcp 8884 "openssl s_server -accept $ip:8884 -cert server.crt -key server.key -CAfile ca.crt -Verify 1 -tls1_2" \
  "cli 8884 broker.sample -tls1_2"
record tls13-refused tcp 8884 "openssl s_server -accept $ip:8884 -cert server.crt -key server.key -CAfile ca.crt -Verify 1 -tls1_3" \
  "cli 8884 broker.sample -tls1_3"
# mosquitto requiring client certificates (TLS 1.3): mosquitto_pub without one (refused; it has already sent its
# CONNECT behind its flight), then with one.
cat > mosq.conf <<CNF
user root
listener 8884 $ip
cafile $tmp/ca.crt
certfile $tmp/server.crt
keyfile $tmp/server.key
require_certificate true
allow_anonymous true
CNF
chmod 644 server.key client.key
pub() { timeout 3 mosquitto_pub -h "$ip" -p 8884 --cafile ca.crt --insecure -i sensor-9 -t site/x -m on "$@"; }
record tls13-mosquitto tcp 8884 "mosquitto -c mosq.conf" "pub; pub --cert client.crt --key client.key"
# A mutual-TLS 1.2 client reconnecting with its saved session (the abbreviated handshake: no certificate exchanged).
record tls12-resumed tcp 8884 "openssl s_server -accept $ip:8884 -cert server.crt -key server.key -CAfile ca.crt -Verify 1 -tls1_2" \
  "cli 8884 broker.sample -tls1_2 -cert client.crt -key client.key -CAfile ca.crt -sess_out session.pem; cli 8884 broker.sample -tls1_2 -cert client.crt -key client.key -CAfile ca.crt -sess_in session.pem"
record tls13-mutual tcp 8883 "openssl s_server -accept $ip:8883 -cert server.crt -key server.key -CAfile ca.crt -Verify 1 -tls1_3" \
  "cli 8883 broker.sample -tls1_3 -cert client.crt -key client.key -CAfile ca.crt"
# A client whose first key share the server does not take (X25519 against P-256 only): a HelloRetryRequest, a second
# ClientHello, then the real ServerHello (RFC 8446 §4.1.4).
record tls13-retry tcp 18417 "openssl s_server -accept $ip:18417 -cert server.crt -key server.key -tls1_3 -groups P-256" \
  "cli 18417 broker.sample -tls1_3 -groups X25519:P-256"
record tls13 tcp 18413 "openssl s_server -accept $ip:18413 -cert server.crt -key server.key -tls1_3" \
  "cli 18413 broker.sample -tls1_3"
record tls12-selfsigned tcp 18414 "openssl s_server -accept $ip:18414 -cert selfsigned.crt -key selfsigned.key -tls1_2" \
  "cli 18414 selfsigned.sample -tls1_2"
record tls12-expired tcp 18415 "openssl s_server -accept $ip:18415 -cert expired.crt -key expired.key -tls1_2" \
  "cli 18415 expired.sample -tls1_2"
record tls12-null tcp 18416 "openssl s_server -accept $ip:18416 -cert server.crt -key server.key -tls1_2 -cipher NULL-SHA256:@SECLEVEL=0" \
  "cli 18416 broker.sample -tls1_2 -cipher ALL:eNULL:aNULL:@SECLEVEL=0"
record dtls12-cert udp 15684 "openssl s_server -dtls1_2 -accept $ip:15684 -cert server.crt -key server.key" \
  "cli 15684 broker.sample -dtls1_2"
record dtls12-psk udp 15685 "openssl s_server -dtls1_2 -accept $ip:15685 -nocert -psk 73656372657431 -psk_hint sensor-hint -cipher PSK-AES128-CCM8:@SECLEVEL=0" \
  "cli 15685 broker.sample -dtls1_2 -psk 73656372657431 -psk_identity sensor-7 -cipher PSK-AES128-CCM8:@SECLEVEL=0"
record dtls10 udp 15686 "openssl s_server -dtls1 -accept $ip:15686 -cert server.crt -key server.key -cipher DEFAULT:@SECLEVEL=0" \
  "cli 15686 broker.sample -dtls1 -cipher DEFAULT:@SECLEVEL=0"
# CoAP over DTLS with a PSK on the CoAPS port (RFC 7252 §9): libcoap's client and server.
record coaps-psk udp 5684 "coap-server-openssl -A $ip -p 5683 -k coapsecret -h coap-hint" \
  "timeout 5 coap-client-openssl -k coapsecret -u coap-device -m get coaps://$ip:5684/.well-known/core"
