#!/usr/bin/env bash
# Two builds measured at the same time, side by side (bench/README.md, "Session 26"): on a VM whose speed moves by up
# to 2x within minutes, runs taken in turn leave 5-10% differences unresolved, while two runs at once see the same phase
# of the machine. Prints, per pair, the CPU time (user + sys) of each build and their ratio B/A, then the ratios' mean.
# The two runs share the caches and memory (and on a 2-vCPU VM perhaps one physical core): the ratios are under
# contention, not rates.
#   bash bench/side-by-side.sh [-n PAIRS] stage FILE DIR_A DIR_B      bench/Capture --only full, one core each (swapped
#                                                                      every pair), the mean of rounds 2 and 3
#   bash bench/side-by-side.sh [-n PAIRS] decode FILE DIR_A DIR_B     secmon analyze --no-detect, one core each (swapped)
#   bash bench/side-by-side.sh [-n PAIRS] rules FILE DIR_A DIR_B      secmon analyze with every shipped rule, unpinned
# DIR_A and DIR_B are checkouts with Release builds (dotnet build SecMon.sln -c Release), e.g. a `git worktree` of the
# commit to compare with. Each run gets a new data directory, removed after.
set -euo pipefail
pairs=6
if [ "${1:-}" = "-n" ]; then pairs=$2; shift 2; fi
[ $# -eq 4 ] || { sed -n '2,12p' "$0" >&2; exit 64; }
mode=$1 file=$2 a=$3 b=$4
case "$mode" in stage|decode|rules) ;; *) echo "side-by-side.sh: mode is stage, decode or rules, not '$mode'" >&2; exit 64 ;; esac
[ -r "$file" ] || { echo "side-by-side.sh: $file: cannot read" >&2; exit 66; }
for d in "$a" "$b"; do
  [ -x "$d/src/SecMon/bin/Release/net10.0/secmon" ] || { echo "side-by-side.sh: $d has no Release build of secmon" >&2; exit 66; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# one BUILD_DIR CORE(or "") OUT: runs one measurement, writes its CPU seconds to OUT
one() {
  local dir=$1 core=$2 out=$3 pin=()
  [ -n "$core" ] && pin=(taskset -c "$core")
  case "$mode" in
    stage)
      "${pin[@]}" dotnet "$dir/bench/Capture/bin/Release/net10.0/SecMon.Bench.dll" "$file" 3 --only full 2>&1 |
        grep -o '[0-9,]* packets/s of CPU' | tail -2 | tr -d , |
        awk -v n="$(capinfos -c -M "$file" | awk '/Number of packets/{print $NF}')" '{s += n / $1} END {printf "%.3f\n", s / 2}' >"$out" ;;
    decode|rules)
      local data="$work/data-$RANDOM$RANDOM" extra=()
      [ "$mode" = decode ] && extra=(--no-detect)
      "${pin[@]}" /usr/bin/time -f '%U %S' -o "$out.t" "$dir/src/SecMon/bin/Release/net10.0/secmon" analyze "$file" \
        --data "$data" "${extra[@]}" >/dev/null 2>&1 || true
      awk '{printf "%.2f\n", $1 + $2}' "$out.t" >"$out"
      rm -rf "$data" ;;
  esac
}

echo "$mode $(basename "$file"): A=$a B=$b, $pairs pairs; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
ratios=()
for i in $(seq "$pairs"); do
  ca="" cb=""
  if [ "$mode" != rules ]; then
    if [ $((i % 2)) = 1 ]; then ca=0 cb=1; else ca=1 cb=0; fi
  fi
  one "$a" "$ca" "$work/a" & pa=$!
  one "$b" "$cb" "$work/b" & pb=$!
  wait "$pa" "$pb"
  ra=$(cat "$work/a") rb=$(cat "$work/b")
  r=$(awk -v a="$ra" -v b="$rb" 'BEGIN {printf "%.3f", b / a}')
  ratios+=("$r")
  printf 'pair %d: A %s s  B %s s  B/A %s\n' "$i" "$ra" "$rb" "$r"
done
printf '%s\n' "${ratios[@]}" | awk '{s += $1; n++} END {printf "B/A mean %.3f over %d pairs\n", s / n, n}'
