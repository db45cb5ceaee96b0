#!/usr/bin/env bash
# A WRAP for bench/outputs.sh: runs secmon and adds to its run summary when the findings were handed to the outputs
# (the first spool segment got its first bytes: DATA/spool/*/00000001.jsonl, polled every 10 ms) and when secmon
# ended, in ms from the start; the tail is the time between the two (bench/README.md, issue 13, session 15).
#   WRAP=bench/outputs-tail.sh bash bench/outputs.sh FILE PAIRS
data=""; prev=""; for a in "$@"; do [ "$prev" = "--data" ] && data=$a; prev=$a; done
t0=$(date +%s%N)
mark=$(mktemp)
( while sleep 0.01; do for s in "$data"/spool/*/00000001.jsonl; do [ -s "$s" ] && { echo $(( ($(date +%s%N) - t0) / 1000000 )); exit; }; done; done ) >"$mark" 2>/dev/null &
poller=$!
"$@"; rc=$?
end=$(( ($(date +%s%N) - t0) / 1000000 ))
kill $poller 2>/dev/null; handover=$(cat "$mark"); rm -f "$mark"
[ -n "$data" ] && [ -d "$data/spool" ] && echo "  resources   tail: hand-over ${handover:-?} ms, end $end ms, tail $(( end - ${handover:-0} )) ms" >&2
exit $rc
