#!/bin/sh
# Records the FTP samples: curl (the client) against vsftpd on 127.0.0.1:2121, a port no FTP hint names, so a
# dissector must recognise FTP by content. vsftpd runs in the foreground with its own configuration (written here, in a
# temporary directory with the anonymous root) and is killed by its PID. Needs root (tcpdump on lo, vsftpd), vsftpd,
# curl and openssl.
#  ftp-anonymous.pcap  anonymous logins (user anonymous): a listing over EPSV, a retrieval over PASV, a retrieval in
#                      active mode over EPRT and one over PORT (curl -P 127.0.0.1), a missing file (550).
#  ftp-login-failed.pcap  USER admin, PASS S3cret-pass: 331 then 530 (local accounts enabled, no such account), so a
#                      named user's password crosses in clear and is refused.
#  ftp-guessing.pcap   six refused logins as admin with six passwords from 127.0.0.1 within a few seconds.
#  ftp-tls.pcap        AUTH TLS accepted (234) then TLS (curl --ssl-reqd), a self-signed certificate made here.
# Usage: sh record.sh   (writes the pcaps in the current directory)
set -eu
HOST=127.0.0.1
PORT=2121
URL=ftp://$HOST:$PORT
WORK=$(mktemp -d)
mkdir -p "$WORK/anon/pub"
printf 'sensor firmware notes\n' > "$WORK/anon/readme.txt"
printf 'v2.1.7\n' > "$WORK/anon/pub/version.txt"
chmod 555 "$WORK/anon"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=ftp.test \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

conf() { # conf FILE [ssl]
  cat > "$1" <<CONF
listen=YES
listen_ipv6=NO
background=NO
listen_address=$HOST
listen_port=$PORT
anonymous_enable=YES
anon_root=$WORK/anon
no_anon_password=NO
local_enable=YES
write_enable=NO
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30100
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
xferlog_enable=NO
secure_chroot_dir=/var/run/vsftpd/empty
ftpd_banner=Welcome to the sensor FTP service.
CONF
  if [ "${2:-}" = ssl ]; then
    printf 'ssl_enable=YES\nallow_anon_ssl=YES\nforce_local_logins_ssl=NO\nforce_anon_logins_ssl=NO\nrsa_cert_file=%s\nrsa_private_key_file=%s\nrequire_ssl_reuse=NO\n' \
      "$WORK/cert.pem" "$WORK/key.pem" >> "$1"
  fi
}

VPID=
TPID=
cleanup() {
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null || true
  [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # start [ssl]
  conf "$WORK/vsftpd.conf" "${1:-}"
  vsftpd "$WORK/vsftpd.conf" & VPID=$!
  sleep 1
}
halt() {
  kill "$VPID"
  wait "$VPID" 2>/dev/null || true
  VPID=
}
record() { # record FILE
  tcpdump -i lo -s 0 -U -w "$1" "tcp and host $HOST and (port $PORT or portrange 30000-30100 or portrange 31000-31100)" 2>/dev/null & TPID=$!
  sleep 1
}
stop() {
  sleep 1
  kill "$TPID"
  wait "$TPID" 2>/dev/null || true
  TPID=
}

start
record ftp-anonymous.pcap
curl -s --user anonymous:guest@example.com "$URL/" >/dev/null
curl -s --user anonymous:guest@example.com --disable-epsv "$URL/readme.txt" >/dev/null
curl -s --user anonymous:guest@example.com -P $HOST:31000-31100 "$URL/pub/version.txt" >/dev/null
curl -s --user anonymous:guest@example.com -P $HOST:31000-31100 --disable-eprt "$URL/readme.txt" >/dev/null
curl -s --user anonymous:guest@example.com "$URL/missing.bin" >/dev/null || true
stop

record ftp-login-failed.pcap
curl -s --user admin:S3cret-pass "$URL/" >/dev/null || true
stop

record ftp-guessing.pcap
for p in admin 123456 password root 12345678 qwerty; do
  curl -s --user "admin:$p" "$URL/" >/dev/null || true
done
stop
halt

start ssl
record ftp-tls.pcap
curl -s -k --ssl-reqd --user anonymous:guest@example.com "$URL/" >/dev/null || true
stop
halt
