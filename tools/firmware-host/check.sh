#!/usr/bin/env bash
# The C firmware runtime on the host (firmware/, docs/firmware.md):
#  - the committed golden files must be what the current C# runtime generates (generator rerun);
#  - builds the library, eq_run and the tests with CMake + gcc (-std=c99 -Wall -Wextra -Werror
#    -pedantic), the library with clang, and with arm-none-eabi-gcc for Cortex-M3/M4/M55 (-Os; sizes);
#  - unit tests (one test); golden vectors (one test per case: the C# reference kernels' bytes);
#    the golden cases and the zoo under the three other FPU rounding modes (one test per case and mode);
#  - every zoo model's golden outputs (tests/zoo/eqm) through eq_run (one test per model), and the
#    zoo's float test data through eq_run --float-in (one test);
#  - the C reader's verdicts on 6000 mutated blobs against the C# reader's, with and without the
#    reader's work memory (one test each);
#  - valid blobs of ops 50-54 refused with their named status by a build without them (one test), builds without the
#    compressed-weight ops 55-57 (-DEQ_WITH_COMPRESSED_WEIGHTS=0) refusing an int4 model, without the
#    mixed-precision ops 60-72 (-DEQ_WITH_MIXED_PRECISION=0) refusing a mixed model, and without the
#    dynamic ops 40-46 (-DEQ_WITH_DYNAMIC_OPS=0) refusing their golden cases, and without ops 50-54
#    (-DEQ_WITH_COMPRESSED_ARRAYS=0 -DEQ_WITH_SPARSE_WEIGHTS=0) and the recurrent ops 23-26
#    (-DEQ_WITH_RECURRENT=0) refusing theirs (one test each);
#  - under AddressSanitizer + UndefinedBehaviorSanitizer: golden vectors, zoo, a deterministic
#    mutation loop (EQ_FUZZ_ITERATIONS, default 40000, plus EQ_FUZZ_ITERATIONS_NOWORK, default
#    10000, without work memory) and a libFuzzer campaign (EQ_LIBFUZZER_SECONDS, default 20)
#    seeded with the zoo and golden blobs (one test per campaign).
# Prints "N passed, N failed" last. Needs only what .ci/run installs (dotnet, cmake, gcc, clang,
# libclang-rt-14-dev, gcc-arm-none-eabi).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
fw=$root/firmware
zoo=$root/tests/zoo
golden=$fw/tests/golden
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0
failed=0
start=$(date +%s)

ok() { passed=$((passed + 1)); echo "PASS $1 [$(( $(date +%s) - start )) s]"; }
ko() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "${2:-}" ] && tail -30 "$2"; }
# Adds the "N passed, N failed" line of a log to the totals; a run that exits non-zero without failures counts one.
count() {
  local log=$1 rc=$2 name=$3 line p f
  line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  if [ -z "$line" ]; then ko "$name (no summary)" "$log"; return; fi
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then echo "FAIL $name: $line"; grep -E "FAIL|failed|ERROR|error" "$log" | head -20; else echo "PASS $name: $line"; fi
}

# Host builds compile in the optional op codes 20-21 (EQ_WITH_EXTENDED_OPS, as the CMake build does), so
# the golden vectors and the mutation verdicts cover them; the board images leave them out (code budget).
CFLAGS_STRICT="-std=c99 -Wall -Wextra -Werror -pedantic -ffp-contract=off -DEQ_WITH_EXTENDED_OPS=1"
LIB_SRC="$fw/src/model.c $fw/src/interpreter.c $fw/src/quant_math.c $fw/src/crc32.c $fw/src/status.c $(ls "$fw"/src/kernels/*_s8.c "$fw"/src/kernels/*_s16.c "$fw"/src/kernels/*_f32.c)"
INC="-I$fw/include -I$fw/src -I$fw/src/kernels"

# 0. The committed golden files are what the current C# runtime produces (else C could pass against stale bytes).
mkdir -p "$out/regen"
if dotnet build "$golden/EdgeQuant.Firmware.Golden.csproj" -c Release > "$out/regen.log" 2>&1 \
   && dotnet "$golden/bin/Release/net10.0/EdgeQuant.Firmware.Golden.dll" "$out/regen" "$zoo/eqm" >> "$out/regen.log" 2>&1 \
   && cmp "$out/regen/vectors.bin" "$golden/vectors.bin" && cmp "$out/regen/mutations.bin" "$golden/mutations.bin" \
   && cmp "$out/regen/labels.eqm" "$golden/labels.eqm"; then
  ok "golden vectors and mutation verdicts are current (regenerated from the C# runtime: identical bytes)"
else
  ko "golden files differ from what the C# runtime now produces: regenerate with dotnet run --project firmware/tests/golden -c Release -- firmware/tests/golden tests/zoo/eqm" "$out/regen.log"
fi

# 1. Host build with CMake + gcc (library, eq_run, tests).
if cmake -S "$fw" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc > "$out/cmake.log" 2>&1 \
   && cmake --build "$out/build" -j2 >> "$out/cmake.log" 2>&1; then ok "host build (cmake, gcc, -Werror)"; else ko "host build" "$out/cmake.log"; echo "$passed passed, $failed failed"; exit 1; fi
bin=$out/build

# 2. The library with clang, and for Cortex-M with arm-none-eabi-gcc (compile only; sizes of -Os Thumb-2 code).
mkdir -p "$out/clang"
if (cd "$out/clang" && clang $CFLAGS_STRICT -O2 $INC -c $LIB_SRC) > "$out/clang.log" 2>&1; then ok "library with clang (-Werror)"; else ko "library with clang" "$out/clang.log"; fi
for cpu in cortex-m3 cortex-m4 cortex-m55; do
  d=$out/arm-$cpu; mkdir -p "$d"
  extra=""; [ "$cpu" = cortex-m4 ] && extra="-mfloat-abi=hard -mfpu=fpv4-sp-d16"; [ "$cpu" = cortex-m55 ] && extra="-mfloat-abi=hard"
  if (cd "$d" && arm-none-eabi-gcc $CFLAGS_STRICT -mcpu=$cpu -mthumb $extra -Os -ffunction-sections -fdata-sections $INC -c $LIB_SRC) > "$d.log" 2>&1; then
    text=$(arm-none-eabi-size -t "$d"/*.o | tail -1 | awk '{print $1}'); bss=$(arm-none-eabi-size -t "$d"/*.o | tail -1 | awk '{print $2 + $3}')
    ok "library for $cpu -Os (text $text bytes, data+bss $bss bytes)"
  else ko "library for $cpu" "$d.log"; fi
done

# 3. Unit tests, golden vectors, zoo, mutation verdicts.
"$bin/test_unit" "$zoo" "$golden/labels.eqm" > "$out/unit.log" 2>&1; rc=$?
line=$(tail -1 "$out/unit.log")
if [ $rc -eq 0 ]; then ok "unit tests ($line checks)"; else ko "unit tests" "$out/unit.log"; fi
"$bin/test_golden" "$golden/vectors.bin" > "$out/golden.log" 2>&1; count "$out/golden.log" $? "golden vectors"
# The FPU rounding modes (fesetround): every golden case gives the C# bytes or, for a float32 model, EQ_ERR_ROUNDING_MODE.
"$bin/test_rounding" "$golden/vectors.bin" "$zoo/eqm" > "$out/rounding.log" 2>&1; grep "^golden cases" "$out/rounding.log"; count "$out/rounding.log" $? "rounding modes"
for blob in "$zoo"/eqm/*.eqm; do
  name=$(basename "$blob" .eqm)
  if "$bin/eq_run" "$blob" "$zoo/eqm/$name.input.bin" "$out/$name.out" --expect "$zoo/eqm/$name.output.bin" > "$out/zoo.log" 2>&1
  then ok "zoo $name: $(tail -1 "$out/zoo.log" | sed 's/^eq_run: //')"; else ko "zoo $name" "$out/zoo.log"; fi
done
# The float path: the zoo's float test data (.npy, single-channel images, so NCHW and NHWC agree) through
# eq_run --float-in (the C# SetInput quantization) must give the same int8 outputs.
ffail=0; fcount=0
for blob in "$zoo"/eqm/*.eqm; do
  name=$(basename "$blob" .eqm)
  case $name in quirk_*) npy=$zoo/quirks/${name#quirk_}.input.npy ;; *) npy=$zoo/$name.test.npy ;; esac
  [ -f "$npy" ] || continue
  hl=$(od -An -tu2 -j8 -N2 "$npy" | tr -d ' ')
  tail -c +$((10 + hl + 1)) "$npy" > "$out/$name.f32"
  "$bin/eq_run" "$blob" "$out/$name.f32" "$out/$name.fout" --float-in --expect "$zoo/eqm/$name.output.bin" > "$out/zf.log" 2>&1 || { ffail=1; echo "$name:"; cat "$out/zf.log"; }
  fcount=$((fcount + 1))
done
if [ $ffail -eq 0 ] && [ $fcount -gt 0 ]; then ok "zoo float inputs through eq_run --float-in ($fcount models)"; else ko "zoo float inputs"; fi
"$bin/test_mutations" "$golden/mutations.bin" "$golden/vectors.bin" "$zoo/eqm" > "$out/mut.log" 2>&1; rc=$?
grep "^test_mutations" "$out/mut.log"; count "$out/mut.log" $rc "mutation verdicts vs the C# reader"
# The same with the reader's O(1)-memory path (no work memory for the lifetime arrays).
if gcc $CFLAGS_STRICT -O2 -DEQ_INIT_STACK_WORK_BYTES=0 $INC $LIB_SRC "$fw/tests/test_mutations.c" -o "$out/test_mutations_nowork" > "$out/nw.log" 2>&1; then
  "$out/test_mutations_nowork" "$golden/mutations.bin" "$golden/vectors.bin" "$zoo/eqm" > "$out/mut2.log" 2>&1; rc=$?
  grep "^test_mutations" "$out/mut2.log"; count "$out/mut2.log" $rc "mutation verdicts vs the C# reader (reader without work memory)"
else ko "build of the no-work-memory reader" "$out/nw.log"; fi

# Ops 50-54 in a build without them (-DEQ_WITH_COMPRESSED_WEIGHTS=0 -DEQ_WITH_SPARSE_WEIGHTS=0): valid blobs using
# them (the generator's --refusals, each loaded by the C# reader first) must be refused with the named status, never
# run; the default build loads each.
rfail=0; rcount=0
if dotnet "$golden/bin/Release/net10.0/EdgeQuant.Firmware.Golden.dll" --refusals "$out/refusals" > "$out/refusals.txt" 2> "$out/refusals.log" \
   && gcc $CFLAGS_STRICT -O2 -DEQ_WITH_COMPRESSED_WEIGHTS=0 -DEQ_WITH_SPARSE_WEIGHTS=0 $INC $LIB_SRC "$fw/tools/eq_run.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/eq_run_lean" >> "$out/refusals.log" 2>&1; then
  while read -r file status; do
    rcount=$((rcount + 1))
    if "$out/eq_run_lean" "$out/refusals/$file" /dev/null "$out/refused.out" > "$out/r.log" 2>&1 || ! grep -q "model: $status:" "$out/r.log"; then
      rfail=1; echo "$file: expected $status:"; cat "$out/r.log"
    fi
    "$bin/eq_run" "$out/refusals/$file" /dev/null "$out/refused.out" > "$out/r.log" 2>&1 || { rfail=1; echo "$file: the default build refuses it:"; cat "$out/r.log"; }
  done < "$out/refusals.txt"
fi
if [ $rfail -eq 0 ] && [ $rcount -gt 0 ]; then ok "ops 50-54 refused cleanly without EQ_WITH_COMPRESSED_WEIGHTS/EQ_WITH_SPARSE_WEIGHTS, loaded with them ($rcount blobs the C# reader accepts)"; else ko "refusal of ops 50-54" "$out/refusals.log"; fi
# The float boundary of an int16 model: eq_run --float-in --float-out (eq_set_input_f32 / eq_get_output_f32 on
# int16 tensors) must give the floats of the C# SetInput / GetOutput (the generator's --int16-io DIR).
if dotnet "$golden/bin/Release/net10.0/EdgeQuant.Firmware.Golden.dll" --int16-io "$out/int16io" > "$out/i16.log" 2>&1 \
   && "$bin/eq_run" "$out/int16io/int16_io.eqm" "$out/int16io/int16_io.input.f32" "$out/i16.out" --float-in --float-out \
        --expect "$out/int16io/int16_io.output.f32" >> "$out/i16.log" 2>&1; then
  ok "int16 input and output through eq_run --float-in --float-out: the C# SetInput/GetOutput floats ($(tail -1 "$out/i16.log" | sed 's/^eq_run: //'))"
else ko "int16 float input/output" "$out/i16.log"; fi
# Without the compressed-weight ops (-DEQ_WITH_COMPRESSED_WEIGHTS=0) the library still builds warning-free
# and refuses an int4 model at its first compressed filter.
if gcc $CFLAGS_STRICT -O2 -DEQ_WITH_COMPRESSED_WEIGHTS=0 $INC $LIB_SRC "$fw/tools/eq_run.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/eq_run_nocomp" > "$out/nc.log" 2>&1 \
   && ! "$out/eq_run_nocomp" "$golden/fashion_mobilenet.int4.eqm" "$zoo/eqm/fashion_mobilenet.input.bin" "$out/nc.out" >> "$out/nc.log" 2>&1 \
   && grep -q "model: EQ_ERR_TENSORS:" "$out/nc.log" \
   && gcc $CFLAGS_STRICT -O2 -DEQ_WITH_COMPRESSED_WEIGHTS=0 $INC -I"$fw/tools" $LIB_SRC "$fw/tests/test_golden.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/golden_nocomp" >> "$out/nc.log" 2>&1 \
   && "$out/golden_nocomp" "$golden/vectors.bin" >> "$out/nc.log" 2>&1; then
  ok "EQ_WITH_COMPRESSED_WEIGHTS=0: builds (-Werror), refuses an int4 model with EQ_ERR_TENSORS, golden vectors pass with ops 55-57 refused"
else ko "EQ_WITH_COMPRESSED_WEIGHTS=0 build or refusal" "$out/nc.log"; fi

# Without the mixed-precision ops 60-72 (-DEQ_WITH_MIXED_PRECISION=0, what `edgequant firmware build` compiles for a
# model without them) the library builds warning-free, refuses the mixed fashion_mobilenet at its first int16
# tensor, and the golden vectors pass with every case of ops 60-72 refused.
if gcc $CFLAGS_STRICT -O2 -DEQ_WITH_MIXED_PRECISION=0 $INC $LIB_SRC "$fw/tools/eq_run.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/eq_run_nomixed" > "$out/nm.log" 2>&1 \
   && ! "$out/eq_run_nomixed" "$golden/fashion_mobilenet.mixed.eqm" "$zoo/eqm/fashion_mobilenet.input.bin" "$out/nm.out" >> "$out/nm.log" 2>&1 \
   && grep -q "model: EQ_ERR_TENSORS:" "$out/nm.log" \
   && gcc $CFLAGS_STRICT -O2 -DEQ_WITH_MIXED_PRECISION=0 $INC -I"$fw/tools" $LIB_SRC "$fw/tests/test_golden.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/golden_nomixed" >> "$out/nm.log" 2>&1 \
   && "$out/golden_nomixed" "$golden/vectors.bin" >> "$out/nm.log" 2>&1; then
  ok "EQ_WITH_MIXED_PRECISION=0: builds (-Werror), refuses a mixed-precision model with EQ_ERR_TENSORS, golden vectors pass with ops 60-72 refused"
else ko "EQ_WITH_MIXED_PRECISION=0 build or refusal" "$out/nm.log"; fi

# The same without the dynamic-quantization ops 40-46 (-DEQ_WITH_DYNAMIC_OPS=0): their golden cases are refused
# with EQ_ERR_OP_UNKNOWN, everything else passes.
if gcc $CFLAGS_STRICT -O2 -DEQ_WITH_DYNAMIC_OPS=0 $INC -I"$fw/tools" $LIB_SRC "$fw/tests/test_golden.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/golden_nodyn" > "$out/nd.log" 2>&1 \
   && "$out/golden_nodyn" "$golden/vectors.bin" >> "$out/nd.log" 2>&1; then
  ok "EQ_WITH_DYNAMIC_OPS=0: builds (-Werror), golden vectors pass with ops 40-46 refused"
else ko "EQ_WITH_DYNAMIC_OPS=0 build or refusal" "$out/nd.log"; fi

# The same without ops 50-54's own options (-DEQ_WITH_COMPRESSED_ARRAYS=0 -DEQ_WITH_SPARSE_WEIGHTS=0): the golden
# cases of ops 50-52 are refused at the op with EQ_ERR_OP_UNKNOWN, those of ops 53-54 at the SparseInt8 filter with
# EQ_ERR_TENSORS, everything else (ops 55-57 included) passes.
if gcc $CFLAGS_STRICT -O2 -DEQ_WITH_COMPRESSED_ARRAYS=0 -DEQ_WITH_SPARSE_WEIGHTS=0 $INC -I"$fw/tools" $LIB_SRC "$fw/tests/test_golden.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/golden_nosparse" > "$out/ns.log" 2>&1 \
   && "$out/golden_nosparse" "$golden/vectors.bin" >> "$out/ns.log" 2>&1; then
  ok "EQ_WITH_COMPRESSED_ARRAYS=0 EQ_WITH_SPARSE_WEIGHTS=0: builds (-Werror), golden vectors pass with ops 50-54 refused"
else ko "EQ_WITH_COMPRESSED_ARRAYS=0 EQ_WITH_SPARSE_WEIGHTS=0 build or refusal" "$out/ns.log"; fi

# The same without the recurrent ops 23-26 (-DEQ_WITH_RECURRENT=0): their golden cases (one-op and digits_gru /
# digits_lstm) are refused with EQ_ERR_OP_UNKNOWN, everything else passes; eq_run names the status for digits_gru.
if gcc $CFLAGS_STRICT -O2 -DEQ_WITH_RECURRENT=0 $INC -I"$fw/tools" $LIB_SRC "$fw/tests/test_golden.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/golden_norec" > "$out/nr.log" 2>&1 \
   && "$out/golden_norec" "$golden/vectors.bin" >> "$out/nr.log" 2>&1 \
   && gcc $CFLAGS_STRICT -O2 -DEQ_WITH_RECURRENT=0 $INC $LIB_SRC "$fw/tools/eq_run.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/eq_run_norec" >> "$out/nr.log" 2>&1 \
   && ! "$out/eq_run_norec" "$golden/digits_gru.eqm" /dev/null "$out/nr.out" >> "$out/nr.log" 2>&1 \
   && grep -q "model: EQ_ERR_OP_UNKNOWN:" "$out/nr.log"; then
  ok "EQ_WITH_RECURRENT=0: builds (-Werror), refuses digits_gru with EQ_ERR_OP_UNKNOWN, golden vectors pass with ops 23-26 refused"
else ko "EQ_WITH_RECURRENT=0 build or refusal" "$out/nr.log"; fi

# 4. Sanitizers: the library compiled once (plus model.c without work memory), linked into each test.
SAN="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$out/asan" "$out/asan-nowork"
ASAN_LIB=$(for f in $LIB_SRC; do echo "$out/asan/$(basename "$f" .c).o"; done)
ASAN_LIB_NOWORK=$(echo "$ASAN_LIB" | sed "s|$out/asan/model.o|$out/asan-nowork/model.o|")
if (cd "$out/asan" && clang $CFLAGS_STRICT $SAN $INC -c $LIB_SRC) > "$out/asan.log" 2>&1 \
   && clang $CFLAGS_STRICT $SAN -DEQ_INIT_STACK_WORK_BYTES=0 $INC -c "$fw/src/model.c" -o "$out/asan-nowork/model.o" >> "$out/asan.log" 2>&1 \
   && clang $CFLAGS_STRICT $SAN $INC $ASAN_LIB "$fw/tests/test_golden.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/golden_asan" >> "$out/asan.log" 2>&1 \
   && clang $CFLAGS_STRICT $SAN $INC $ASAN_LIB "$fw/tests/test_unit.c" -o "$out/unit_asan" >> "$out/asan.log" 2>&1 \
   && clang $CFLAGS_STRICT $SAN $INC $ASAN_LIB "$fw/tools/eq_run.c" "$fw/tools/eq_run_io_stdio.c" -o "$out/eq_run_asan" >> "$out/asan.log" 2>&1 \
   && clang -std=c99 -Wall -Wextra -Werror $SAN $INC -I"$fw/tests/fuzz" $ASAN_LIB "$fw/tests/fuzz/test_fuzz.c" -o "$out/fuzz_asan" >> "$out/asan.log" 2>&1 \
   && clang -std=c99 -Wall -Wextra -Werror $SAN $INC -I"$fw/tests/fuzz" $ASAN_LIB_NOWORK "$fw/tests/fuzz/test_fuzz.c" -o "$out/fuzz_asan_nowork" >> "$out/asan.log" 2>&1; then
  "$out/unit_asan" "$zoo" "$golden/labels.eqm" > "$out/unit_asan.log" 2>&1; rc=$?
  if [ $rc -eq 0 ]; then ok "unit tests under ASan+UBSan ($(tail -1 "$out/unit_asan.log") checks)"; else ko "unit tests under ASan+UBSan" "$out/unit_asan.log"; fi
  mkdir -p "$out/corpus"
  if "$out/golden_asan" "$golden/vectors.bin" --dump-corpus "$out/corpus" > "$out/g.log" 2>&1; then ok "golden vectors under ASan+UBSan ($(tail -1 "$out/g.log"))"; else ko "golden vectors under ASan+UBSan" "$out/g.log"; fi
  cp "$zoo"/eqm/*.eqm "$out/corpus/"
  zfail=0
  for blob in "$zoo"/eqm/*.eqm; do
    name=$(basename "$blob" .eqm)
    "$out/eq_run_asan" "$blob" "$zoo/eqm/$name.input.bin" "$out/$name.asan.out" --expect "$zoo/eqm/$name.output.bin" --max-samples 100 > "$out/za.log" 2>&1 || { zfail=1; cat "$out/za.log"; }
  done
  if [ $zfail -eq 0 ]; then ok "zoo under ASan+UBSan (every model, first 100 samples)"; else ko "zoo under ASan+UBSan"; fi
  "$out/fuzz_asan" "${EQ_FUZZ_ITERATIONS:-40000}" 20261203 "$out"/corpus/*.eqm > "$out/f.log" 2>&1; rc=$?
  grep "^test_fuzz" "$out/f.log"; count "$out/f.log" $rc "deterministic mutation loop under ASan+UBSan"
  "$out/fuzz_asan_nowork" "${EQ_FUZZ_ITERATIONS_NOWORK:-10000}" 7 "$out"/corpus/*.eqm > "$out/f2.log" 2>&1; rc=$?
  grep "^test_fuzz" "$out/f2.log"; count "$out/f2.log" $rc "deterministic mutation loop under ASan+UBSan (reader without work memory)"
else
  ko "sanitizer builds" "$out/asan.log"
fi

# 5. libFuzzer (clang -fsanitize=fuzzer needs libclang-rt-14-dev).
if clang -std=c99 -Wall -Wextra -Werror -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $INC -I"$fw/tests/fuzz" \
     $LIB_SRC "$fw/tests/fuzz/fuzz_model.c" -o "$out/fuzz_model" > "$out/lf.log" 2>&1; then
  mkdir -p "$out/lfcorpus"
  if "$out/fuzz_model" -max_total_time="${EQ_LIBFUZZER_SECONDS:-20}" -timeout=10 -max_len=65536 -seed=1 -print_final_stats=1 \
       "$out/lfcorpus" "$out/corpus" > "$out/lfrun.log" 2>&1; then
    ok "libFuzzer campaign under ASan+UBSan ($(grep -E '^Done' "$out/lfrun.log" | tail -1))"
  else ko "libFuzzer campaign" "$out/lfrun.log"; fi
else
  ko "libFuzzer build (is libclang-rt-14-dev installed?)" "$out/lf.log"
fi

echo "firmware-host check took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
