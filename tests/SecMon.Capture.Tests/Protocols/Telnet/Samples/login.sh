#!/bin/sh
# A stand-in for /bin/login run by telnetd -E (record.sh): the banner and prompts of a busybox-like IoT device, echo
# off (stty) while the password is typed, "Login incorrect" for wrong credentials (three tries, then the connection
# closes), a "$ " shell prompt for the fixed test credentials admin / S3cret-telnet, and a tiny shell (id, uname,
# exit) so the session has some output after the login. Never a real login: no system user is involved.
# With the argument echo-on the password is echoed as it is typed (a badly configured device).
printf '\nSecMon test camera (BusyBox v1.36 built-in shell)\n\n'
tries=0
while [ $tries -lt 3 ]; do
  printf 'camera login: '
  IFS= read -r user || exit 0
  [ "${1:-}" = echo-on ] || stty -echo 2>/dev/null
  printf 'Password: '
  IFS= read -r pass || exit 0
  stty echo 2>/dev/null
  printf '\n'
  if [ "$user" = "admin" ] && [ "$pass" = "S3cret-telnet" ]; then
    printf '\nBusyBox v1.36 built-in shell (ash)\n\n'
    while printf '$ ' && IFS= read -r cmd; do
      case "$cmd" in
        id) printf 'uid=0(admin) gid=0(admin)\n' ;;
        uname*) printf 'Linux camera 4.9.37 armv7l GNU/Linux\n' ;;
        exit) exit 0 ;;
        '') ;;
        *) printf -- '-sh: %s: not found\n' "$cmd" ;;
      esac
    done
    exit 0
  fi
  sleep 1
  printf 'Login incorrect\n'
  tries=$((tries + 1))
done
exit 1
