#!/bin/sh
# Records the HTTP samples: curl (the client) against server.js (node, beside this script) and nc (pipelining) on 127.0.0.2:18080, a port
# no HTTP hint names, so a dissector must recognise HTTP by content. Needs root (tcpdump on lo), node and curl.
#  http-curl.pcap   GET, keep-alive with several URLs on one connection, POST with a body, a chunked response, 204,
#                   HEAD, a query with a secret parameter, 401 then 200 with Basic (alice), an HTTP/1.0 request, two
#                   pipelined requests (nc).
#  http-default.pcap  Basic with the factory default admin:admin (the default-credentials rule) from 127.0.0.1.
#  http-admin.pcap  /admin from 127.0.0.1 (learned), then 4 s later /admin and /cgi-bin/ from 127.0.0.3 (new peer).
#  http-digest.pcap Digest (RFC 7616) on /camera: operator with a wrong password, then the right one, then the non-ASCII
#                   user Jäsøn (curl sends the UTF-8 name in the quoted username).
#  http-bearer.pcap a hub's REST API with a bearer token (RFC 6750), as Home Assistant's long-lived access tokens are
#                   sent: three requests on one connection, then a request without a token.
#  http-proxy.pcap  the client's side of tinyproxy (127.0.0.4:18888, Basic proxy credentials gateway:S3cret-proxy): a
#                   request without the credential (407), a GET in absolute form with it, an HTTPS request tunnelled
#                   with CONNECT to openssl s_server (localhost:18443), and a plain HTTP request with Basic (alice)
#                   inside a CONNECT tunnel (curl -p). Needs tinyproxy and openssl as well.
#  http-proxy-guess.pcap  Squid (127.0.0.11:13128, Basic proxy login for gateway): six wrong passwords in a row, each
#                   refused with 407, then the right one. Needs squid.
# Usage: sh record.sh   (writes the pcaps in the current directory; ONLY="http-digest.pcap ..." records only those)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
HOST=127.0.0.2
PORT=18080
URL=http://$HOST:$PORT

node "$HERE/server.js" $HOST $PORT & NPID=$!
trap 'kill $NPID 2>/dev/null || true' EXIT
sleep 1

want() { [ -z "${ONLY:-}" ] || case " $ONLY " in *" $1 "*) ;; *) return 1 ;; esac; }
record() { # record FILE, then the commands to run
  tcpdump -i lo -s 0 -U -w "$1" "tcp port $PORT" 2>/dev/null & TPID=$!
  sleep 1
}
stop() {
  sleep 1
  kill $TPID
  wait $TPID 2>/dev/null || true
}

if want http-curl.pcap; then
record http-curl.pcap
curl -s -A 'sensor-fw/2.1' "$URL/" "$URL/status?verbose=1&token=abc123" "$URL/chunked" "$URL/empty" >/dev/null
curl -s -o /dev/null -d 'temperature=21.5&unit=C' "$URL/readings"
curl -s -o /dev/null -I "$URL/"
curl -s -o /dev/null "$URL/private"
curl -s -o /dev/null -u alice:S3cret-pass "$URL/private"
curl -s -o /dev/null -0 "$URL/legacy"
# Two requests pipelined in one segment (curl no longer pipelines): the responses must be joined in order.
printf 'GET /first HTTP/1.1\r\nHost: %s:%s\r\n\r\nGET /second HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' \
  $HOST $PORT $HOST $PORT | nc -q 2 $HOST $PORT >/dev/null
stop
fi

if want http-default.pcap; then
record http-default.pcap
curl -s -u admin:admin "$URL/admin/" "$URL/admin/network" >/dev/null
stop
fi

if want http-admin.pcap; then
record http-admin.pcap
curl -s -o /dev/null --interface 127.0.0.1 -u alice:S3cret-pass "$URL/admin/"
sleep 4
curl -s --interface 127.0.0.3 -u alice:S3cret-pass "$URL/admin/" "$URL/cgi-bin/luci" >/dev/null
curl -s -o /dev/null --interface 127.0.0.1 -u alice:S3cret-pass "$URL/admin/"
stop
fi

if want http-digest.pcap; then
record http-digest.pcap
curl -s -o /dev/null --digest -u operator:wrong "$URL/camera"
curl -s -o /dev/null --digest -u operator:0per4tor "$URL/camera"
curl -s -o /dev/null --digest -u 'Jäsøn:Doe' "$URL/camera"
stop
fi

if want http-bearer.pcap; then
record http-bearer.pcap
curl -s -o /dev/null -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2Vuc29yLWh1Yg.5ecret-signature' \
  "$URL/api/states" "$URL/api/states/sensor.kitchen" "$URL/api/config"
curl -s -o /dev/null "$URL/api/"
stop
fi

if want http-proxy.pcap; then
WORK=$(mktemp -d)
cat > "$WORK/tinyproxy.conf" <<EOC
User nobody
Group nogroup
Port 18888
Listen 127.0.0.4
Timeout 60
Allow 127.0.0.0/8
BasicAuth gateway S3cret-proxy
ConnectPort 18443
ConnectPort $PORT
LogLevel Error
EOC
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 2 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
openssl s_server -quiet -accept 18443 -cert "$WORK/cert.pem" -key "$WORK/key.pem" -www >/dev/null 2>&1 & SPID=$!
tinyproxy -d -c "$WORK/tinyproxy.conf" >/dev/null 2>&1 & PPID_=$!
trap 'kill $NPID $SPID $PPID_ 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1
PROXY=http://gateway:S3cret-proxy@127.0.0.4:18888
tcpdump -i lo -s 0 -U -w http-proxy.pcap "tcp port 18888" 2>/dev/null & TPID=$!
sleep 1
curl -s -o /dev/null -x http://127.0.0.4:18888 "$URL/status"
curl -s -o /dev/null -x $PROXY -A 'gateway-fw/3.2' "$URL/status"
curl -s -o /dev/null -k -x $PROXY https://localhost:18443/
curl -s -o /dev/null -p -x $PROXY -u alice:S3cret-pass "$URL/private"
stop
fi

# Squid, not tinyproxy: tinyproxy 1.11 answers a wrong proxy password with 401 and WWW-Authenticate (only a missing one
# with 407), which a sensor cannot tell from an origin server's 401; Squid answers 407 as RFC 9110 §15.5.8 says.
if want http-proxy-guess.pcap; then
SQ=$(mktemp -d)
chmod 755 "$SQ"
echo "gateway:$(openssl passwd -apr1 S3cret-proxy)" > "$SQ/passwd"
chmod 644 "$SQ/passwd"
cat > "$SQ/squid.conf" <<EOC
http_port 127.0.0.11:13128
auth_param basic program /usr/lib/squid/basic_ncsa_auth $SQ/passwd
auth_param basic realm proxy
acl authed proxy_auth REQUIRED
http_access allow authed
http_access deny all
cache deny all
access_log none
cache_log $SQ/cache.log
pid_filename $SQ/squid.pid
coredump_dir $SQ
shutdown_lifetime 1 seconds
EOC
squid -N -f "$SQ/squid.conf" >/dev/null 2>&1 & SPID=$!
trap 'squid -f "$SQ/squid.conf" -k shutdown 2>/dev/null; wait $SPID 2>/dev/null; kill $NPID 2>/dev/null || true; rm -rf "$SQ"' EXIT
sleep 3
tcpdump -i lo -s 0 -U -w http-proxy-guess.pcap "tcp port 13128" 2>/dev/null & TPID=$!
sleep 1
for guess in admin 123456 password gateway proxy2024 letmein; do
  curl -s -o /dev/null -x "http://gateway:$guess@127.0.0.11:13128" "$URL/status"
done
curl -s -o /dev/null -x http://gateway:S3cret-proxy@127.0.0.11:13128 "$URL/status"
stop
fi
