#!/usr/bin/env bash
# Real captures nobody here recorded: the test captures of Debian's tcpdump and wireshark source packages (several hundred
# files from real networks, many deliberately malformed: fuzzer finds, CVE reproducers), each analysed by secmon in a
# fresh data directory. Prints per exit code how many files ended so, and lists every file that took longer than 10 s,
# printed a stack trace, or ended with another code than 0, 65 (damaged or unsupported input) or 66 (not a capture).
#   bash bench/real-captures.sh [SECMON]     (default: the Release build; needs deb-src in apt's sources, as root)
# The per-file stderr and findings are kept in bench/out/real-captures/.
set -euo pipefail
cd "$(dirname "$0")/.."
secmon=${1:-src/SecMon/bin/Release/net10.0/secmon}
out=bench/out/real-captures
src=bench/out/real-captures-src
mkdir -p "$out" "$src"
if [ ! -d "$src/tcpdump" ] || [ ! -d "$src/wireshark" ]; then
  grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/ || {
    echo "apt has no deb-src source; add one (Types: deb-src, as the deb entry) and run apt-get update" >&2; exit 66; }
  (cd "$src" && apt-get source --download-only tcpdump wireshark >/dev/null)
  mkdir -p "$src/tcpdump" "$src/wireshark"
  tar -xzf "$src"/tcpdump_*.orig.tar.gz -C "$src/tcpdump" --strip-components=1 --wildcards '*/tests/*'
  tar -xjf "$src"/wireshark_*.orig.tar.bz2 -C "$src/wireshark" --strip-components=1 --wildcards '*/test/captures/*'
fi

rm -f "$out"/*.err "$out"/*.json
: >"$out/results.tsv"
shopt -s nullglob
for f in "$src"/tcpdump/tests/*.pcap "$src"/tcpdump/tests/*.pcapng "$src"/wireshark/test/captures/*.pcap* "$src"/wireshark/test/captures/*.cap*; do
  case "$f" in */tcpdump/*) corpus=tcpdump ;; *) corpus=wireshark ;; esac
  name="$corpus-$(basename "$f")" # both corpora have a tftp.pcap
  data=$(mktemp -d)
  start=$(date +%s.%N)
  set +e
  timeout 60 "$secmon" analyze "$f" --data "$data" --json >"$out/$name.json" 2>"$out/$name.err"
  code=$?
  set -e
  printf '%s\t%s\t%.2f\t%s\n' "$name" "$code" "$(echo "$(date +%s.%N) - $start" | bc)" "$(wc -l <"$out/$name.json")" >>"$out/results.tsv"
  rm -rf "$data"
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); secmon: $secmon"
echo "files by exit code:"
cut -f2 "$out/results.tsv" | sort | uniq -c | sort -rn
echo "findings: $(awk -F'\t' '{s+=$4} END {print s}' "$out/results.tsv") in $(awk -F'\t' '$4>0' "$out/results.tsv" | wc -l) files"
awk -F'\t' '$2!=0 && $2!=65 && $2!=66 {print "  unexpected exit " $2 ": " $1} $3>10 {print "  slow (" $3 " s): " $1}' "$out/results.tsv"
grep -l -E "^   at |Unhandled exception" "$out"/*.err 2>/dev/null | sed 's/^/  stack trace: /' || true
