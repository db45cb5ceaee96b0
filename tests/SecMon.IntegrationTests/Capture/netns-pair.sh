# Sourced by the recording scripts beside it (KeepAlive/, Fragments/): two network namespaces joined by a veth pair
# (eth0 in each), a work directory, background processes, and their removal on exit, by name and PID.
#   pair_up DEV_NS SRV_NS      creates the namespaces (lo up) and the pair; the caller adds addresses and MACs
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
pair_up() {
  PAIR="$1 $2"
  for n in $PAIR; do ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; ip -n "$n" link set lo up; done
  ip -n "$1" link add eth0 type veth peer name eth0 netns "$2"
}
