#!/usr/bin/env bash
# Capture benchmark (bench/README.md): synthesises an MQTT-heavy capture at 1x and 10x (the same devices for ten
# times as long), runs `secmon analyze` (one core, taskset; all shipped rules and the store) and tshark with MQTT
# fields on the same 1x file, and prints packets/s for each, their ratio, SecMon's peak RSS at both sizes and GC
# counts; then the decode-only stage timings (bench/Capture) without rules or store.
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

run_secmon() { # file -> prints "seconds peak_kb" and the summary on stderr
  local f=$1 log="$out/secmon-$(basename "$f").log"
  rm -rf "$out/data"
  /usr/bin/time -f "%e %M %U %S" -o "$out/time.txt" taskset -c 0 $secmon analyze "$f" --data "$out/data" 2>"$log" >/dev/null || true
  cat "$log" >&2
  cat "$out/time.txt"
}

for size in 1x 10x; do
  f="$out/bench-$size.pcap"
  n=$(packets_of "$f")
  read -r secs peak user sys <<<"$(run_secmon "$f" 2>/dev/null)"
  # Report the engine's own rate (excludes .NET start-up) from its summary line, and the wall-clock rate.
  engine_rate=$(grep -m1 'packets/s' "$out/secmon-bench-$size.pcap.log" | sed -E 's/.*\(([0-9,]+) packets\/s\).*/\1/' | tr -d ,)
  gc=$(grep -m1 'resources' "$out/secmon-bench-$size.pcap.log" | sed 's/^ *resources *//')
  echo "secmon analyze $size: $n packets, wall ${secs}s (cpu ${user}s user + ${sys}s sys), engine ${engine_rate} packets/s, peak RSS $((peak / 1024)) MB; $gc"
  if [ "$size" = 1x ]; then secmon_rate=$engine_rate; secmon_wall=$secs; fi
done

f="$out/bench-1x.pcap"
n=$(packets_of "$f")
start=$(date +%s.%N)
taskset -c 1 tshark -r "$f" -d tcp.port==1883,mqtt -T fields -e frame.number -e mqtt.msgtype -e mqtt.clientid -e mqtt.topic >/dev/null 2>&1
end=$(date +%s.%N)
tshark_secs=$(echo "$end - $start" | bc -l)
tshark_rate=$(echo "$n / $tshark_secs" | bc)
echo "tshark 1x: $n packets, wall ${tshark_secs}s, $tshark_rate packets/s"
echo "ratio (secmon engine / tshark): $(echo "$secmon_rate / $tshark_rate" | bc -l | xargs printf '%.1f')x; wall-clock ratio $(echo "$tshark_secs / $secmon_wall" | bc -l | xargs printf '%.1f')x"

echo "decode-only stages (bench/Capture, 1x, 3 rounds; no rules, no store):"
taskset -c 0 dotnet bench/Capture/bin/Release/net10.0/SecMon.Bench.dll "$out/bench-1x.pcap" 3
echo "tshark: $(tshark --version | head -1); load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
