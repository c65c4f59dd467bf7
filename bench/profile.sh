#!/usr/bin/env bash
# Where a zoo model's executed instructions go, per .NET method: the linux-arm64 runner of bench/count.sh
# under qemu-aarch64 with the block-profiling plugin (bench/arm64/profile_blocks.c), the main thread's
# blocks counted over N Invokes (or N runs of one op, --op K), attributed to the JIT-compiled methods through
# the runtime's perf map (DOTNET_PerfMapEnabled). Prints instructions per inference (or per op run) for the
# top methods. A development tool: deterministic, like count.sh, and as slow (one qemu run).
#
# usage: bench/profile.sh MODEL [--cpu cortex-a76] [--op K] [--invokes 5] [--top 25] [--runner DIR]
#   --runner DIR: a published linux-arm64 runner (count.sh --keep DIR leaves one in DIR/arm64), else one is published.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n 2,9p "$0" >&2; exit 1; }
model=$1; shift
cpu=cortex-a76; op=-1; n=5; top=25; runner=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) cpu=$2; shift 2 ;;
    --op) op=$2; shift 2 ;;
    --invokes) n=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --runner) runner=$2; shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 1 ;;
  esac
done
work=$(mktemp -d /tmp/eq-profile.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$work/libprofileblocks.so" "$root/bench/arm64/profile_blocks.c"
if [ -z "$runner" ]; then
  dotnet publish "$root/bench/EdgeQuant.InstructionCount" -c Release -r linux-arm64 --self-contained -o "$work/arm64" -v q -nologo \
    > "$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; exit 1; }
  runner=$work/arm64
fi
# The runner's marks: 0-1 an empty bracket, 2-3 the Invokes, then 4 + 2k and 5 + 2k around op k's runs.
window=2; extra=()
if [ "$op" -ge 0 ]; then window=$((4 + 2 * op)); extra=(--per-op); fi
m=$root/tests/zoo/eqm/$model
mkdir -p "$work/perfmap"
DOTNET_EnableWriteXorExecute=0 DOTNET_TieredCompilation=0 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_gcServer=0 \
DOTNET_PerfMapEnabled=3 DOTNET_PerfMapJitDumpPath="$work/perfmap" DOTNET_PerfMapShowOptimizationTiers=0 \
  timeout 1800 qemu-aarch64 -cpu "$cpu" -L /usr/aarch64-linux-gnu -plugin "$work/libprofileblocks.so,syscall=173,window=$window" \
  -d plugin -D "$work/blocks.log" "$runner/eq-count" "$m.eqm" "$m.input.bin" "$m.output.bin" "$n" "${extra[@]}" > "$work/run.txt" 2>&1 \
  || { cat "$work/run.txt" >&2; exit 1; }
map=$(ls -t "$work"/perfmap/perf-*.map 2>/dev/null | head -1 || true)
[ -n "$map" ] || { echo "no perf map was written" >&2; exit 1; }
python3 - "$map" "$work/blocks.log" "$n" "$top" <<'PY'
import bisect, sys
mapfile, blockfile, n, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spans = []
for line in open(mapfile):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) == 3:
        start = int(parts[0], 16)
        spans.append((start, start + int(parts[1], 16), parts[2]))
spans.sort()
starts = [s for s, _, _ in spans]
by, total = {}, 0
for line in open(blockfile):
    f = line.split()
    if len(f) != 4 or f[0] != "eq-block":
        continue
    a, c = int(f[1], 16), int(f[2]) * int(f[3])
    total += c
    i = bisect.bisect_right(starts, a) - 1
    who = spans[i][2] if i >= 0 and a < spans[i][1] else "(native code: the runtime, libc, stubs)"
    by[who] = by.get(who, 0) + c
print(f"{total // n:12d} instructions per run in the window ({n} runs)")
for who, c in sorted(by.items(), key=lambda kv: -kv[1])[:top]:
    print(f"{c // n:12d} {100 * c / max(total, 1):5.1f}%  {who.split('(')[0]}")
PY
