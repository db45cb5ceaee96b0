#!/usr/bin/env bash
# Load benchmark of `secmon serve` (issue 17, "Done when"): a generated capture replayed with tcpreplay at fixed rates
# onto a veth pair inside a network namespace this script makes, with `secmon serve -i <veth>` capturing the other end
# and a client searching the API during the replay. For each rate it reports kernel and channel drops (the sensor's
# own counters, from /api/metrics during the run and from serve's summary at the end), serve's CPU and peak RSS, and
# the API's search latency (p50/p95).
#
#   sudo bash bench/load.sh                       # rates 50000 100000 200000 packets/s, 20 s each
#   sudo RATES="100000" DURATION=30 bash bench/load.sh
#   sudo RATES="100000" SERVE_ARGS="--buffer 8MiB" KEEP_LOGS=/tmp/logs SMAPS_AT=15 bash bench/load.sh
#                                                 # more options for serve; its /proc/PID/smaps 15 s into the replay
#
# Isolation: both ends of the veth pair live in the namespace `secmon-load` and carry documentation-range addresses
# (192.0.2.1/24 and 192.0.2.2/24, RFC 5737); the capture's own addresses are rewritten into the benchmarking range
# (198.18.0.0/15, RFC 2544) before the replay; the namespace has no other interface and no route, so nothing leaves it.
# The API listens on the namespace's loopback. On any exit (end, error, Ctrl+C) the trap stops the processes it
# started (by their PIDs) and deletes the namespace (which removes the veth pair) and its work directory, by name.
#
# Needs: root (namespaces, capture), iproute2, tcpreplay (tcpreplay and tcprewrite), curl, and the Release build
# (dotnet build SecMon.sln -c Release).
set -euo pipefail
cd "$(dirname "$0")/.."

RATES="${RATES:-50000 100000 200000}"
DURATION="${DURATION:-20}"            # seconds of replay per rate
QUERY_EVERY="${QUERY_EVERY:-0.2}"     # seconds between two searches of the client loop (5/s, under the key's rate limit)
NS="secmon-load"
VETH_TX="smload-tx"                   # tcpreplay writes here
VETH_RX="smload-rx"                   # serve captures here
SECMON="${SECMON:-src/SecMon/bin/Release/net10.0/secmon}"
GEN="bench/CaptureGen/bin/Release/net10.0/SecMon.Bench.CaptureGen.dll"

for tool in ip tcpreplay tcprewrite curl; do
  command -v "$tool" >/dev/null || { echo "load.sh: $tool is missing (apt-get install iproute2 tcpreplay curl)" >&2; exit 69; }
done
[ "$(id -u)" -eq 0 ] || { echo "load.sh: run as root (network namespace and capture)" >&2; exit 77; }
[ -x "$SECMON" ] || { echo "load.sh: $SECMON missing: dotnet build SecMon.sln -c Release" >&2; exit 66; }
if ip netns list | grep -qw "$NS"; then
  echo "load.sh: namespace $NS exists already (another run, or one killed with SIGKILL): ip netns del $NS" >&2
  exit 75
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/secmon-load.XXXXXX")"
SERVE_PID=""
CLIENT_PID=""
SAMPLER_PID=""
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  [ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null && wait "$CLIENT_PID" 2>/dev/null
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
  if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill -TERM "$SERVE_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVE_PID" 2>/dev/null || true
  fi
  ip netns del "$NS" 2>/dev/null || true     # removes both ends of the veth pair with it
  rm -rf "$WORK"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The capture: the default MQTT mix of bench/CaptureGen (5,000 devices, about 230,000 packets), its addresses moved
# into 198.18.0.0/15; tcpreplay loops it for as long as a rate runs.
if [ ! -f "$GEN" ]; then
  dotnet build -c Release -nologo -v q bench/CaptureGen >/dev/null
fi
# With LOAD_PCAP=FILE the rewritten capture is kept there and used again by the next run (a series of runs).
if [ -n "${LOAD_PCAP:-}" ] && [ -s "$LOAD_PCAP" ]; then
  cp "$LOAD_PCAP" "$WORK/load.pcap"
else
  dotnet "$GEN" "$WORK/gen.pcap" >/dev/null
  tcprewrite --pnat=10.0.0.0/8:198.18.0.0/15 --infile="$WORK/gen.pcap" --outfile="$WORK/load.pcap"
  rm -f "$WORK/gen.pcap"
  if [ -n "${LOAD_PCAP:-}" ]; then cp "$WORK/load.pcap" "$LOAD_PCAP"; fi
fi
PACKETS_IN_FILE=$(tcpdump -r "$WORK/load.pcap" -nn 2>/dev/null | wc -l)

ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip link add "$VETH_TX" type veth peer name "$VETH_RX"
ip netns exec "$NS" ip addr add 192.0.2.1/24 dev "$VETH_TX"
ip netns exec "$NS" ip addr add 192.0.2.2/24 dev "$VETH_RX"
ip netns exec "$NS" ip link set "$VETH_TX" up
ip netns exec "$NS" ip link set "$VETH_RX" up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=0

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { # metric NAME LABELS FILE: the value of one sample of the exposition, 0 when absent
  local want="$1"; [ -n "$2" ] && want="$1{$2}"
  [ -f "$3" ] || { echo "?"; return; }
  awk -v want="$want" '$1 == want {printf "%d", $2; found=1} END {if (!found) print 0}' "$3"
}

printf 'load.sh: %s, %s packets in the capture, %s s per rate, load average %s\n' "$(date -u +%FT%TZ)" "$PACKETS_IN_FILE" "$DURATION" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-10s %-10s %-12s %-12s %-8s %-9s %-14s %-14s %s\n' \
  "rate" "sent/s" "captured" "kernel_drop" "channel_drop" "cpu%" "peak_rss" "search_p50_ms" "search_p95_ms" "searches"

for rate in $RATES; do
  data="$WORK/data-$rate"
  mkdir -p "$data"
  key=$("$SECMON" apikey create --name "load-$rate" --scope read --data "$data" 2>/dev/null)
  ready="$WORK/ready-$rate.json"
  ip netns exec "$NS" "$SECMON" serve -i "$VETH_RX" --api 127.0.0.1:0 --http none --data "$data" --ready-file "$ready" --quiet ${SERVE_ARGS:-} \
    >"$WORK/serve-$rate.out" 2>"$WORK/serve-$rate.err" &
  SERVE_PID=$!
  for _ in $(seq 1 600); do
    grep -q "capturing on" "$WORK/serve-$rate.err" 2>/dev/null && [ -s "$ready" ] && break
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "load.sh: serve stopped:" >&2; cat "$WORK/serve-$rate.err" >&2; exit 70; }
    sleep 0.1
  done
  grep -q "capturing on" "$WORK/serve-$rate.err" || { echo "load.sh: serve did not start capturing in 60 s" >&2; exit 70; }
  api=$(sed -E 's/.*"api":"([^"]+)".*/\1/' "$ready")

  # The client: searches during the replay, bounded by the replay's length; per request the time from the request sent
  # on the established TLS connection to the last byte (curl's time_total - time_pretransfer), in ms.
  (
    end=$((SECONDS + DURATION))
    i=0
    while [ "$SECONDS" -lt "$end" ]; do
      case $((i % 3)) in
        0) q="findings?limit=50" ;;
        1) q="findings?limit=50&q=mqtt" ;;
        *) q="findings?limit=50&severity=medium&since=1h" ;;
      esac
      ip netns exec "$NS" curl -sk -o /dev/null -H "Authorization: Bearer $key" \
        -w '%{http_code} %{time_pretransfer} %{time_total}\n' "${api}api/v1/$q" || echo "000 0 0"
      i=$((i + 1))
      sleep "$QUERY_EVERY"
    done >"$WORK/latency-$rate.txt"
  ) &
  CLIENT_PID=$!
  # serve's anonymous and file-backed resident memory every 0.5 s (kB), for the highest of each.
  # With SMAPS_AT=SECONDS, a copy of serve's /proc/PID/smaps that many seconds into the replay (kept with KEEP_LOGS).
  (
    samples=0
    while kill -0 "$SERVE_PID" 2>/dev/null; do
      awk '/^RssAnon:/ {a = $2} /^RssFile:/ {f = $2} END {print a + 0, f + 0}' "/proc/$SERVE_PID/status" 2>/dev/null || break
      samples=$((samples + 1))
      if [ -n "${SMAPS_AT:-}" ] && [ "$samples" -eq $((SMAPS_AT * 2)) ]; then
        cat "/proc/$SERVE_PID/smaps" >"$WORK/smaps-$rate.txt" 2>/dev/null || true
      fi
      sleep 0.5
    done >"$WORK/rss-$rate.txt"
  ) &
  SAMPLER_PID=$!

  before=$(cpu_ticks "$SERVE_PID")
  started=$(date +%s.%N)
  ip netns exec "$NS" tcpreplay --intf1="$VETH_TX" --pps="$rate" --loop=0 --duration="$DURATION" --preload-pcap --no-flow-stats \
    "$WORK/load.pcap" >"$WORK/tcpreplay-$rate.txt" 2>&1 || true
  wait "$CLIENT_PID" || true
  CLIENT_PID=""
  sleep 2 # the capture thread's last batch and the metrics' once-a-second copy
  elapsed=$(awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN {print a - b}')
  after=$(cpu_ticks "$SERVE_PID")
  peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVE_PID/status")
  # What the resident memory is made of at the end of the replay: anonymous (the managed heap and the runtime's and
  # SQLite's native allocations), file-backed (the mapped images and the capture ring), shared memory.
  rss_parts=$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ {v[$1] = int($2 / 1024)} END {printf "rss %d MB = anon %d + file %d + shmem %d", v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["RssShmem:"]}' "/proc/$SERVE_PID/status")
  ip netns exec "$NS" curl -sk -H "Authorization: Bearer $key" -o "$WORK/metrics-$rate.txt" "${api}api/metrics" || true
  kill -TERM "$SERVE_PID"
  serve_exit=0
  wait "$SERVE_PID" || serve_exit=$?
  SERVE_PID=""
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""

  sent=$(awk '/Rated:/ {for (i = 1; i <= NF; i++) if ($i == "pps") print $(i - 1); exit}' "$WORK/tcpreplay-$rate.txt")
  captured=$(metric secmon_packets_total "" "$WORK/metrics-$rate.txt")
  kernel=$(metric secmon_drops_total 'kind="kernel"' "$WORK/metrics-$rate.txt")
  channel=$(metric secmon_drops_total 'kind="channel"' "$WORK/metrics-$rate.txt")
  summary_drops=$(grep -m1 -E ' drops +kernel' "$WORK/serve-$rate.err" | sed -E 's/^.* drops +/drops /' || true)
  cpu=$(awk -v d="$((after - before))" -v hz="$CLK_TCK" -v t="$elapsed" 'BEGIN {printf "%d", 100 * d / hz / t}')
  total=$(wc -l <"$WORK/latency-$rate.txt")
  awk '$1 == "200" {printf "%.3f\n", ($3 - $2) * 1000}' "$WORK/latency-$rate.txt" | sort -n >"$WORK/ms-$rate.txt"
  n=$(wc -l <"$WORK/ms-$rate.txt")
  p50=-; p95=-
  if [ "$n" -gt 0 ]; then
    p50=$(sed -n "$(( (n - 1) * 50 / 100 + 1 ))p" "$WORK/ms-$rate.txt")
    p95=$(sed -n "$(( (n - 1) * 95 / 100 + 1 ))p" "$WORK/ms-$rate.txt")
  fi
  printf '%-8s %-10s %-10s %-12s %-12s %-8s %-9s %-14s %-14s %s\n' \
    "$rate" "${sent:-?}" "$captured" "$kernel" "$channel" "$cpu" "$((peak_kb / 1024))MB" "$p50" "$p95" "$n of $total ok"
  [ -n "$summary_drops" ] && printf '         serve summary: %s\n' "$summary_drops"
  heap_mb=$(awk -v h="$(metric dotnet_total_memory_bytes "" "$WORK/metrics-$rate.txt")" 'BEGIN {printf "%d", h / 1048576}')
  gcs=$(for g in 0 1 2; do metric dotnet_collection_count_total "generation=\"$g\"" "$WORK/metrics-$rate.txt"; echo; done | paste -sd/)
  peaks=$(awk '{if ($1 > a) a = $1; if ($2 > f) f = $2} END {printf "anon %d MB, file %d MB", a / 1024, f / 1024}' "$WORK/rss-$rate.txt")
  printf '         memory: highest sampled %s; at the end %s; managed heap %s MB; collections gen0/1/2 %s\n' "$peaks" "$rss_parts" "$heap_mb" "$gcs"
  # The process's peak over its whole life (the SIGTERM drain and the last save included), from serve's own summary.
  exit_peak=$(grep -m1 -oE 'peak memory [0-9.]+ [A-Za-z]+' "$WORK/serve-$rate.err" | sed 's/peak memory //' || true)
  printf '         exit: status %s%s; peak memory over the whole run %s\n' "$serve_exit" \
    "$([ "$serve_exit" -gt 128 ] && echo " (signal $((serve_exit - 128)))")" "${exit_peak:-? (no summary)}"
  if [ "$serve_exit" -ne 0 ]; then
    # A failed stop is the finding of the run: its stderr's last lines here, whatever KEEP_LOGS says.
    echo "load.sh: serve did not stop cleanly; the end of its stderr:" >&2
    tail -n 40 "$WORK/serve-$rate.err" >&2
  fi
  if [ -n "${KEEP_LOGS:-}" ]; then
    cp "$WORK/serve-$rate.err" "$WORK/tcpreplay-$rate.txt" "$WORK/metrics-$rate.txt" "$WORK/rss-$rate.txt" "$KEEP_LOGS/" 2>/dev/null || true
  fi
  if [ -n "${KEEP_LOGS:-}" ] && [ -f "$WORK/smaps-$rate.txt" ]; then
    cp "$WORK/smaps-$rate.txt" "$KEEP_LOGS/"
  fi
  rm -rf "$data"
done
