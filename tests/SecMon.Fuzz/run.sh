#!/usr/bin/env bash
# Fuzzes one target of the SecMon harness under AFL++ (README.md beside this file).
#
#   run.sh TARGET [SECONDS]     TARGET: a protocol name (SecMon.Fuzz list); SECONDS: default 600
#   run.sh --list
#
# Builds the harness once into $SECMON_FUZZ_WORK/bin (default tests/SecMon.Fuzz/.work, git-ignored), instruments
# SecMon.Capture.dll and SecMon.Core.dll there with sharpfuzz (the SharpFuzz.CommandLine dotnet tool, installed into
# tests/SecMon.Fuzz/.tools on first use), writes the seeds (the flows of the recorded samples each probe claims), and
# runs afl-fuzz (Debian package afl++) for SECONDS. Findings in $SECMON_FUZZ_WORK/TARGET/default/{crashes,hangs};
# replay one with: dotnet tests/SecMon.Fuzz/bin/Release/net10.0/SecMon.Fuzz.dll run TARGET FILE
# Exit: 0 no crash, 1 crashes found, 64 usage, 69 a tool is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${SECMON_FUZZ_WORK:-$here/.work}
bin=$work/bin
# The same harness uninstrumented (instrumented code runs only under a fuzzer): for listing targets and making seeds.
plain=$here/bin/Release/net10.0/SecMon.Fuzz.dll
tools=$here/.tools
sharpfuzz_version=2.3.0

usage() { echo "usage: run.sh TARGET [SECONDS] | run.sh --list" >&2; exit 64; }
[[ $# -ge 1 && $# -le 2 ]] || usage

build() {
    # Rebuilt when a source under src/ or this folder is newer than the instrumented build.
    if [[ -f $bin/.instrumented ]] && [[ -z $(find "$root/src" "$here" -path "$here/.work" -prune -o -path "$here/.tools" -prune \
            -o \( -name '*.cs' -o -name '*.csproj' \) -newer "$bin/.instrumented" -print -quit) ]]; then
        return 0
    fi

    if [[ ! -x $tools/sharpfuzz ]]; then
        dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$tools" >&2
    fi

    rm -rf "$bin"
    # Plain IL (no ReadyToRun): sharpfuzz instruments IL, and the runtime must not use precompiled code instead.
    dotnet build "$here/SecMon.Fuzz.csproj" -c Release -nologo -v q >&2
    dotnet publish "$here/SecMon.Fuzz.csproj" -c Release -nologo -v q --no-build -o "$bin" -p:PublishReadyToRun=false >&2
    for dll in SecMon.Capture.dll SecMon.Core.dll; do
        # The tool targets an older runtime than the SDK's: roll forward to the one installed.
        DOTNET_ROLL_FORWARD=Major "$tools/sharpfuzz" "$bin/$dll" >&2
    done
    touch "$bin/.instrumented"
}

if [[ $1 == --list ]]; then
    build
    dotnet "$plain" list
    exit 0
fi

target=$1
seconds=${2:-600}
[[ $seconds =~ ^[0-9]+$ ]] || usage
if ! command -v afl-fuzz >/dev/null; then
    echo "run.sh: afl-fuzz not found: apt-get install afl++ (or use the libfuzzer command, README.md)" >&2
    exit 69
fi

build
dotnet "$plain" list | grep -qx "$target" || { echo "run.sh: no target '$target'" >&2; dotnet "$plain" list >&2; exit 64; }

seeds=$work/seeds
if [[ ! -d $seeds/$target ]]; then
    (cd "$root" && dotnet "$plain" seeds "$seeds") >&2
fi

out=$work/$target
# dotnet is not instrumented itself (SharpFuzz instruments the assemblies it loads): skip AFL's binary check. No CPU
# binding (a shared machine), no core_pattern or governor demands; a .NET start-up takes seconds, hence -t.
AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 \
    afl-fuzz -i "$seeds/$target" -o "$out" -V "$seconds" -t 5000 -m none -- dotnet "$bin/SecMon.Fuzz.dll" afl "$target" >"$work/$target.log" 2>&1 || {
        echo "run.sh: afl-fuzz failed; its output: $work/$target.log" >&2
        tail -20 "$work/$target.log" >&2
        exit 1
    }

stats=$out/default/fuzzer_stats
get() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(get saved_crashes)
echo "$target: $(get execs_done) execs in $(get run_time) s, $(get execs_per_sec) execs/s, $(get corpus_count) inputs in the corpus, $(get bitmap_cvg) map coverage, $crashes crashes, $(get saved_hangs) hangs"
if [[ ${crashes:-0} -gt 0 ]]; then
    ls "$out/default/crashes" >&2
    exit 1
fi
