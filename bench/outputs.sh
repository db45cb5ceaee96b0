#!/usr/bin/env bash
# analyze with SQLite alone against analyze with every output on and up (bench/README.md, "Every output on"): a
# webhook receiver (Kestrel, answers 204) and the fake Elasticsearch each in a process of their own, mosquitto on a
# loopback port for the MQTT alerts, and the findings log. Runs alternate; wall and CPU from /usr/bin/time; the run
# ends only when every output has every finding (analyze drains the spools before it exits). After each run with the
# outputs: the CPU time the receivers spent in it (they share the machine's cores with secmon).
#   bash bench/outputs.sh [FILE] [PAIRS]     (defaults: bench/out/bench-1x.pcap, 3 pairs)
# WRAP="perf record -F 499 -g -o /tmp/perf.data" runs each analyze under that command (with DOTNET_PerfMapEnabled=1 for symbols).
# SECMON=PATH runs another build's secmon (an earlier commit's, to alternate before and after); NO_BUILD=1 skips the builds.
# Before the timed runs, one untimed run with every output up warms the receivers (their JIT compilation: 1-2 s of CPU
# on the same cores in the first run otherwise, which a long-running receiver elsewhere does not cost); WARM=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
f=${1:-bench/out/bench-1x.pcap}
pairs=${2:-3}
out=$(mktemp -d /tmp/secmon-bench-outputs.XXXXXX)
[ -f "$f" ] || { echo "no $f: make it with bench/CaptureGen (bench/README.md)" >&2; exit 66; }
[ -n "${NO_BUILD:-}" ] || for p in src/SecMon bench/Webhooks bench/Elasticsearch; do dotnet build -c Release -nologo -v q "$p" >/dev/null; done
secmon=${SECMON:-src/SecMon/bin/Release/net10.0/secmon}

pids=()
names=()
# CPU time (clock ticks) of each receiver process and its children, in the order started.
ticks() { local p q t; for p in "${pids[@]}"; do t=0; for q in $p $(pgrep -P "$p" || true); do
  [ -r "/proc/$q/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$q/stat"))); done; printf '%s ' "$t"; done; }
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$out"; }
trap cleanup EXIT

# Each server prints its URL on its first line and runs until its input ends.
mkfifo "$out/hook.in" "$out/es.in"
dotnet bench/Webhooks/bin/Release/net10.0/SecMon.Bench.dll serve <"$out/hook.in" >"$out/hook.url" 2>"$out/hook.log" & pids+=($!); names+=(webhook)
exec 7>"$out/hook.in"
dotnet bench/Elasticsearch/bin/Release/net10.0/SecMon.Bench.Elasticsearch.dll serve <"$out/es.in" >"$out/es.url" 2>"$out/es.log" & pids+=($!); names+=(elasticsearch)
exec 8>"$out/es.in"
port=$(( 20000 + RANDOM % 20000 ))
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$out/mosquitto.conf"
mosquitto -c "$out/mosquitto.conf" >"$out/mosquitto.log" 2>&1 & pids+=($!); names+=(mosquitto)
for _ in $(seq 100); do [ -s "$out/hook.url" ] && [ -s "$out/es.url" ] && break; sleep 0.2; done
hook=$(head -1 "$out/hook.url"); es=$(head -1 "$out/es.url")
[ -n "$hook" ] && [ -n "$es" ] || { echo "the receivers did not start: $(cat "$out"/*.log)" >&2; exit 70; }

cat >"$out/all.yml" <<YAML
outputs:
  log: {path: $out/findings.jsonl}
  webhooks:
    - name: soc
      url: $hook
      secret: \${SECMON_BENCH_WEBHOOK_SECRET}
      allow_http_hosts: [127.0.0.1]
      allow_addresses: [127.0.0.1]
  elasticsearch:
    nodes: [$es]
  mqtt:
    url: mqtt://127.0.0.1:$port
YAML
export SECMON_BENCH_WEBHOOK_SECRET="whsec_$(head -c 32 /dev/urandom | base64)"

one() { # label [options...]
  local label=$1; shift
  rm -rf "$out/data" "$out"/findings*.jsonl
  local code=0
  local before; read -r -a before <<<"$(ticks)"
  /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" ${WRAP:-} $secmon analyze "$f" --data "$out/data" "$@" 2>"$out/run.log" >/dev/null || code=$?
  read -r secs user sys peak <"$out/time.txt"
  printf '%-22s wall %6.2fs  cpu %6.2fs user + %5.2fs sys  peak RSS %4d MB  exit %d  %s\n' \
    "$label" "$secs" "$user" "$sys" "$((peak / 1024))" "$code" "$(grep -c '^  output' "$out/run.log" || true) spooled outputs"
  grep -E "^  output|^  resources|^secmon: output|packets/s" "$out/run.log" | sed 's/^/    /' || true
  if [ $# -gt 0 ]; then
    local after i line="    receivers' CPU:" hz; hz=$(getconf CLK_TCK); read -r -a after <<<"$(ticks)"
    for i in "${!pids[@]}"; do line+=$(printf ' %s %.2fs' "${names[$i]}" "$(echo "(${after[$i]} - ${before[$i]}) / $hz" | bc -l)"); done
    echo "$line"
  fi
}

if [ "${WARM:-1}" != 0 ]; then
  echo "warm-up (untimed): $(one "+ every output, up" --config "$out/all.yml" | grep -E "^\+|receivers" | tr -s ' ' | tr '\n' ';')"
fi
echo "$(basename "$f"), $secmon, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$pairs"); do
  one "SQLite alone"
  one "+ every output, up" --config "$out/all.yml"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
