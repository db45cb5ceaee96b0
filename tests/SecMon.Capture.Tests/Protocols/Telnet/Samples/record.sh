#!/bin/sh
# Records the Telnet samples: the inetutils telnet client, scripted with expect (client.exp), against inetutils-telnetd
# run by inetutils-inetd on 127.0.0.1:2323 (the IoT port; content decides anyway). telnetd does the real option
# negotiation; its -E option runs login.sh (beside this script) instead of /bin/login: a busybox-like banner,
# "camera login: ", "Password: " with the terminal's echo off, "Login incorrect" for wrong credentials and a "$ "
# shell prompt for admin / S3cret-telnet. Needs root (tcpdump on lo, inetd runs telnetd as root), expect, telnet.
#  telnet-guessing.pcap  from 127.0.0.3: admin/wrong1, root/root, admin/admin123 refused (telnetd closes after 3),
#                        then a new connection: admin/guess4, admin/guess5 refused, admin/S3cret-telnet accepted;
#                        user names typed fast, passwords one keystroke per segment.
#  telnet-login.pcap     from 127.0.0.1: admin/S3cret-telnet accepted at once, id, uname -a, exit.
#  telnet-echo.pcap      from 127.0.0.1 to 127.0.0.2, whose login echoes the password: admin/echo-me refused, then
#                        admin/S3cret-telnet accepted.
# Usage: sh record.sh   (writes the pcaps in the current directory)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=2323
WORK=$(mktemp -d)
printf '127.0.0.1:%s stream tcp nowait root /usr/sbin/telnetd telnetd -h -E %s/login.sh\n' $PORT "$HERE" > "$WORK/inetd.conf"
# A second device on 127.0.0.2 whose terminal echoes the password.
printf '127.0.0.2:%s stream tcp nowait root /usr/sbin/telnetd telnetd -h -E "%s/login.sh echo-on"\n' $PORT "$HERE" >> "$WORK/inetd.conf"
inetutils-inetd -d -p "$WORK/inetd.pid" "$WORK/inetd.conf" >"$WORK/inetd.log" 2>&1 & IPID=$!
trap 'kill $IPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1

record() { # record FILE
  tcpdump -i lo -s 0 -U -w "$1" "tcp port $PORT" 2>/dev/null & TPID=$!
  sleep 1
}
stop() {
  sleep 1
  kill $TPID
  wait $TPID 2>/dev/null || true
}

record telnet-guessing.pcap
expect "$HERE/client.exp" 127.0.0.3 127.0.0.1 $PORT admin:wrong1 root:root admin:admin123 >/dev/null || true
expect "$HERE/client.exp" 127.0.0.3 127.0.0.1 $PORT admin:guess4 admin:guess5 admin:S3cret-telnet >/dev/null
stop

record telnet-login.pcap
expect "$HERE/client.exp" 127.0.0.1 127.0.0.1 $PORT admin:S3cret-telnet >/dev/null
stop

record telnet-echo.pcap
expect "$HERE/client.exp" 127.0.0.1 127.0.0.2 $PORT admin:echo-me admin:S3cret-telnet >/dev/null
stop
