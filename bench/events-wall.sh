#!/usr/bin/env bash
# The cost of the event log in `secmon analyze` (bench/README.md, "Event log"): alternates
# `analyze FILE --no-detect` and `analyze FILE --no-detect --events OUT` on one capture, pinned to one core, and
# prints wall time, CPU time, the engine's packets/s (its summary line) and the events file size for each run.
#   bash bench/events-wall.sh [FILE] [PAIRS]     (defaults: bench/out/bench-10x.pcap, 3 pairs; run bench/run.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
f=${1:-bench/out/bench-10x.pcap}
pairs=${2:-3}
out=bench/out
secmon="dotnet src/SecMon/bin/Release/net10.0/secmon.dll"
[ -f "$f" ] || { echo "no $f: run bench/run.sh (or bench/CaptureGen) first" >&2; exit 66; }
dotnet build -c Release -nologo -v q src/SecMon >/dev/null

one() { # label [options...]
  local label=$1; shift
  rm -f "$out/events.jsonl"
  /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" taskset -c 0 $secmon analyze "$f" --no-detect --data "$out/data" "$@" 2>"$out/events-wall.log" >/dev/null
  read -r secs user sys peak <"$out/time.txt"
  rate=$(grep -m1 'packets/s' "$out/events-wall.log" | sed -E 's/.*\(([0-9,]+) packets\/s\).*/\1/')
  size=$([ -f "$out/events.jsonl" ] && du -m "$out/events.jsonl" | cut -f1 || echo 0)
  printf '%-32s wall %6.2fs  cpu %6.2fs user + %5.2fs sys  engine %s packets/s  peak RSS %d MB  events file %s MB\n' \
    "$label" "$secs" "$user" "$sys" "$rate" "$((peak / 1024))" "$size"
}

echo "$(basename "$f"), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$pairs"); do
  one "--no-detect"
  one "--no-detect --events FILE" --events "$out/events.jsonl"
done
rm -f "$out/events.jsonl"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
