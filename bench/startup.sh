#!/usr/bin/env bash
# CLI start-up (bench/README.md, "CLI start-up"): runs one secmon command N times and prints, for the whole process
# (fork to exit), the wall time and the CPU time (user + sys, all threads) in milliseconds: min / median / mean / max.
# On a shared machine the CPU time moves less than the wall time with the other work.
#   bash bench/startup.sh [-n N] [-e VAR=VALUE]... [--] COMMAND ARGS...
#   bash bench/startup.sh -n 20 -- src/SecMon/bin/Release/net10.0/secmon findings search anonymous --data /tmp/store1m
# -e sets an environment variable for the runs (e.g. -e DOTNET_TieredCompilation=0), to compare runtime settings
# on the same build. The first run is a warm-up (file cache) and is not counted.
set -euo pipefail
n=20
envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: bench/startup.sh [-n N] [-e VAR=VALUE]... [--] COMMAND ARGS..." >&2; exit 64; }

tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.t"' EXIT
env "${envs[@]}" "$@" >/dev/null 2>&1 || true  # warm-up
for _ in $(seq "$n"); do
  start=$(date +%s%N)
  /usr/bin/time -f "%U %S" -o "$tmp.t" env "${envs[@]}" "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  read -r user sys <"$tmp.t"
  echo "$(( (end - start) / 1000000 )) $(echo "($user + $sys) * 1000 / 1" | bc)" >>"$tmp"
done
stats() { sort -n | awk '{ t[NR] = $1; sum += $1 } END { printf "min %4d  median %4d  mean %4.0f  max %4d", t[1], t[int((NR + 1) / 2)], sum / NR, t[NR] }'; }
printf '%-44s n=%d  wall ms: %s | cpu ms: %s\n' "${envs[*]:-default}" "$n" \
  "$(cut -d' ' -f1 "$tmp" | stats)" "$(cut -d' ' -f2 "$tmp" | stats)"
