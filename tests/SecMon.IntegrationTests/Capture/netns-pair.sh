# Sourced by the recording scripts beside it (KeepAlive/, Fragments/, WebSocketDeflate/): network namespaces, a work
# directory, background processes, and their removal on exit, by name and PID.
#   ns_up NS...                creates the namespaces (lo up); the caller links them
#   pair_up DEV_NS SRV_NS      creates two namespaces joined by a veth pair (eth0 in each); the caller adds addresses
#   PIDS="$PIDS $!"            after starting a background process: killed on exit
# Sets HERE (the calling script's directory) and WORK (removed on exit). Needs root and iproute2.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=""
PAIR=""
pair_cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  for n in $PAIR; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap pair_cleanup EXIT
ns_up() {
  PAIR="$*"
  for n in $PAIR; do ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; ip -n "$n" link set lo up; done
}
pair_up() {
  ns_up "$1" "$2"
  ip -n "$1" link add eth0 type veth peer name eth0 netns "$2"
}
