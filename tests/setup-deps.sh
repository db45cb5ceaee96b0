#!/usr/bin/env bash
# Installs the system packages SecMon and its tests use, when they are missing (Debian/Ubuntu).
# libpcap for capture; tshark, tcpdump, mosquitto and its clients, openssl and curl as the real peers
# (with coap, dnsmasq, dig, udhcpc, mbpoll, vsftpd, telnetd for the other protocols)
# and independent verifiers of the integration tests; node with the npm standardwebhooks package (tests/node) verifies
# webhook signatures.
set -euo pipefail

PACKAGES=(libpcap0.8 tshark tcpdump mosquitto mosquitto-clients openssl curl iproute2 ca-certificates
  # real peers of the protocol tests: CoAP (with DTLS), DNS, DHCP, Modbus, FTP, Telnet, scans
  libcoap3-bin dnsmasq-base bind9-dnsutils udhcpc mbpoll vsftpd inetutils-telnetd inetutils-inetd inetutils-telnet expect netcat-openbsd nmap
  # ARP and new devices: arping and ping in network namespaces; a router's NAT (masquerade) in one
  iputils-arping iputils-ping nftables
  # the analysts' page in a real browser (Playwright drives it; no browser download)
  chromium
  # bench/load.sh: replays a capture onto a veth pair at fixed rates (tcpreplay, tcprewrite)
  tcpreplay)
missing=()
# node and npm may come from elsewhere than Debian's packages (NodeSource's nodejs carries npm): the commands count.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
node_deps() {
  # The webhook verifier's npm package, at the version its lock file pins.
  [ -d "$(dirname "$0")/node/node_modules/standardwebhooks" ] || npm ci --prefix "$(dirname "$0")/node" --no-audit --no-fund >/dev/null
}
[ ${#missing[@]} -eq 0 ] && { node_deps; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  echo "secmon: missing system packages: ${missing[*]}" >&2
  echo "secmon: install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
node_deps
