#!/usr/bin/env bash
# Capture benchmark (bench/README.md): synthesises an MQTT-heavy capture at 1x and 10x (the same devices for ten
# times as long); runs `secmon analyze --no-detect` (decode only, one core), `secmon analyze` with all shipped rules
# and the store (on both cores, then on one), and tshark with MQTT fields on the same 1x file; prints packets/s for
# each, the ratios, peak RSS and GC counts; then the decode-only stage timings in-process (bench/Capture).
#   bash bench/run.sh [DEVICES] [PUBLISHES]      (defaults: 10000 devices x 25 publishes = 460k packets at 1x)
set -euo pipefail
cd "$(dirname "$0")/.."
devices=${1:-10000}
publishes=${2:-25}
out=bench/out
mkdir -p "$out"

dotnet build -c Release -nologo -v q src/SecMon >/dev/null
dotnet build -c Release -nologo -v q bench/CaptureGen >/dev/null
dotnet build -c Release -nologo -v q bench/Capture >/dev/null
gen="dotnet bench/CaptureGen/bin/Release/net10.0/SecMon.Bench.CaptureGen.dll"
secmon="dotnet src/SecMon/bin/Release/net10.0/secmon.dll"

[ -f "$out/bench-1x.pcap" ] || $gen "$out/bench-1x.pcap" --devices "$devices" --publishes "$publishes"
[ -f "$out/bench-10x.pcap" ] || $gen "$out/bench-10x.pcap" --devices "$devices" --publishes $((publishes * 10))

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; $(dotnet --version) SDK"
packets_of() { capinfos -c -M "$1" 2>/dev/null | awk '/Number of packets/{print $NF}'; }

run_secmon() { # label cores file [analyze options...] -> one line: packets/s (engine), wall, cpu, peak RSS, GC
  local label=$1 cores=$2 f=$3; shift 3
  local log="$out/secmon-$label-$(basename "$f").log"
  rm -rf "$out/data"
  /usr/bin/time -f "%e %M %U %S" -o "$out/time.txt" taskset -c "$cores" $secmon analyze "$f" --data "$out/data" "$@" 2>"$log" >/dev/null || true
  read -r secs peak user sys <"$out/time.txt"
  # The engine's own rate (excludes .NET start-up) from the run summary.
  rate=$(grep -m1 'packets/s' "$log" | sed -E 's/.*\(([0-9,]+) packets\/s\).*/\1/' | tr -d ,)
  gc=$(grep -m1 'resources' "$log" | sed 's/^ *resources *//')
  printf '%-40s %s packets/s, wall %ss (cpu %ss user + %ss sys), peak RSS %s MB; %s\n' \
    "secmon analyze $label $(basename "$f" .pcap | sed 's/bench-//'):" "$rate" "$secs" "$user" "$sys" "$((peak / 1024))" "$gc"
}

rate_of() { grep -m1 'packets/s' "$out/secmon-$1-bench-$2.pcap.log" | sed -E 's/.*\(([0-9,]+) packets\/s\).*/\1/' | tr -d ,; }

for size in 1x 10x; do
  f="$out/bench-$size.pcap"
  echo "$size: $(packets_of "$f") packets"
  run_secmon decode-only 0 "$f" --no-detect           # issue 3: read + decode + reassembly + MQTT, one core
  run_secmon rules-2cores 0,1 "$f"                    # issue 4: all shipped rules + store; detection on its own thread
  run_secmon rules-1core 0 "$f"                       # the same squeezed onto one core
  echo "  with rules / decode-only: 2 cores $(echo "100 * $(rate_of rules-2cores "$size") / $(rate_of decode-only "$size")" | bc)%," \
       "1 core $(echo "100 * $(rate_of rules-1core "$size") / $(rate_of decode-only "$size")" | bc)%"
done
secmon_rate=$(rate_of decode-only 1x)

f="$out/bench-1x.pcap"
n=$(packets_of "$f")
start=$(date +%s.%N)
taskset -c 1 tshark -r "$f" -d tcp.port==1883,mqtt -T fields -e frame.number -e mqtt.msgtype -e mqtt.clientid -e mqtt.topic >/dev/null 2>&1
end=$(date +%s.%N)
tshark_secs=$(echo "$end - $start" | bc -l)
tshark_rate=$(echo "$n / $tshark_secs" | bc)
echo "tshark 1x: $n packets, wall ${tshark_secs}s, $tshark_rate packets/s"
echo "ratio (secmon decode-only engine rate / tshark): $(echo "$secmon_rate / $tshark_rate" | bc -l | xargs printf '%.1f')x"

echo "decode-only stages (bench/Capture, 1x, 3 rounds; no rules, no store):"
taskset -c 0 dotnet bench/Capture/bin/Release/net10.0/SecMon.Bench.dll "$out/bench-1x.pcap" 3
echo "tshark: $(tshark --version | head -1); load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
