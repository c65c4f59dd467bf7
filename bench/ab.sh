#!/usr/bin/env bash
# A change against a base, timed in one process: the runtime at git revision BASE (A) and the working tree's (B),
# each loaded into a load context of its own by bench/EdgeQuant.AB (eq-ab), the same ops of the same blobs
# alternating on both. Models are zoo names (tests/zoo/eqm/NAME.eqm) or paths; default fashion_resnet and
# fashion_mobilenetv2.
#   bash bench/ab.sh BASE [MODEL...] [--rounds N] [--threads N] [--ops-only|--invoke-only]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: bash bench/ab.sh BASE_REVISION [MODEL...] [--rounds N] [--threads N] [--ops-only|--invoke-only]" >&2
  exit 2
fi
base=$1
shift
git rev-parse --verify -q "$base^{commit}" >/dev/null || { echo "bench/ab.sh: '$base' is not a revision of this repository" >&2; exit 2; }
work=$(mktemp -d /tmp/eq-ab.XXXXXX)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/base" "$base"
echo "building the runtime at $base (A) and in the working tree (B)"
dotnet build "$work/base/runtime/EdgeQuant.Runtime" -c Release -o "$work/a" -v q -nologo >/dev/null
dotnet build runtime/EdgeQuant.Runtime -c Release -o "$work/b" -v q -nologo >/dev/null
dotnet build bench/EdgeQuant.AB -c Release -v q -nologo >/dev/null
args=()
models=0
expect_value=0
for a in "$@"; do
  if [ $expect_value = 1 ]; then args+=("$a"); expect_value=0; continue; fi
  case "$a" in
    --rounds|--threads) args+=("$a"); expect_value=1 ;;
    --*) args+=("$a") ;;
    *) if [ -f "$a" ]; then args+=("$a"); else args+=("tests/zoo/eqm/$a.eqm"); fi; models=$((models + 1)) ;;
  esac
done
if [ $models = 0 ]; then args=(tests/zoo/eqm/fashion_resnet.eqm tests/zoo/eqm/fashion_mobilenetv2.eqm ${args[@]+"${args[@]}"}); fi
dotnet bench/EdgeQuant.AB/bin/Release/net10.0/eq-ab.dll "$work/a/EdgeQuant.Runtime.dll" "$work/b/EdgeQuant.Runtime.dll" "${args[@]}"
