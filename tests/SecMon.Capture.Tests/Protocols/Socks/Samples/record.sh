#!/bin/sh
# Records the SOCKS sample on loopback: curl through microsocks (Debian's microsocks 1.0.3, SOCKS5 with an RFC 1929
# login, gateway / S3cret-socks) on 127.0.0.8:1080 to a python3 HTTP server on 127.0.0.9:18090. Needs root (tcpdump),
# microsocks, curl and python3.
#  socks5.pcap  the proxy's side of: a request by address with the login, its relayed HTTP GET; a request by host name
#               (socks5h, the proxy resolves it); a wrong password (refused); a client offering no login (no acceptable
#               method); a request to a closed port (refused by the proxy).
#  socks4.pcap  curl through Dante (Debian's dante-server 1.4, no authentication) on 127.0.0.1:10804: SOCKS4 with a user
#               id and its relayed GET, then SOCKS4a by host name (localhost: the server is not on 127.0.0.1, refused).
# Usage: sh record.sh   (writes the pcaps in the current directory; ONLY="socks4.pcap" records only those)
set -eu
want() { [ -z "${ONLY:-}" ] || case " $ONLY " in *" $1 "*) ;; *) return 1 ;; esac; }
WORK=$(mktemp -d)
PIDS=""
trap 'kill $PIDS 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir "$WORK/www" && echo 'meter ok' > "$WORK/www/status"
(cd "$WORK/www" && exec python3 -m http.server 18090 --bind 127.0.0.9 >/dev/null 2>&1) & PIDS="$PIDS $!"
sleep 1

if want socks5.pcap; then
microsocks -i 127.0.0.8 -p 1080 -u gateway -P S3cret-socks >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 1
tcpdump -i lo -s 0 -U -w socks5.pcap "tcp port 1080" 2>/dev/null & TPID=$!
sleep 1
P=gateway:S3cret-socks@127.0.0.8:1080
curl -s -o /dev/null -A 'gateway-fw/3.2' -x "socks5://$P" http://127.0.0.9:18090/status
curl -s -o /dev/null -x "socks5h://$P" http://localhost:18090/status || true
curl -s -o /dev/null -x socks5://gateway:wrong@127.0.0.8:1080 http://127.0.0.9:18090/status || true
curl -s -o /dev/null -x socks5://127.0.0.8:1080 http://127.0.0.9:18090/status || true
curl -s -o /dev/null -x "socks5://$P" http://127.0.0.9:1/ || true
sleep 1
kill $TPID
wait $TPID 2>/dev/null || true
fi

if want socks4.pcap; then
cat > "$WORK/danted.conf" <<EOC
logoutput: stderr
internal: 127.0.0.1 port = 10804
external: 127.0.0.1
socksmethod: none
clientmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 protocol: tcp }
EOC
danted -f "$WORK/danted.conf" -N 1 >/dev/null 2>&1 & PIDS="$PIDS $!"
sleep 1
tcpdump -i lo -s 0 -U -w socks4.pcap "tcp port 10804" 2>/dev/null & TPID=$!
sleep 1
curl -s -o /dev/null -x socks4://meter7@127.0.0.1:10804 http://127.0.0.9:18090/status
curl -s -o /dev/null -x socks4a://127.0.0.1:10804 http://localhost:18090/status || true
sleep 1
kill $TPID
wait $TPID 2>/dev/null || true
fi
