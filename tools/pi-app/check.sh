#!/usr/bin/env bash
# EdgeQuant.Pi as it ships: published with NativeAOT for linux-arm64 (zero trim/AOT warnings) and
# run under qemu-aarch64 as a Raspberry Pi 5 (cortex-a76):
#   - camera --simulate on the zoo's 1000 MNIST test digits upscaled 4x (112x112 gray frames) with
#     the MNIST model converted with --pixels: same top-1 accuracy as `edgequant eval` on the
#     original images, and the same classes as the x64 JIT build;
#   - imu --simulate on a replay through the simulated MPU6050 with a hand-weighted orientation
#     model (tools/pi-app/make_imu.py): every window inside one segment classified correctly; and
#     the zoo's imu_gesture model on its replay recording: the same accuracy as `edgequant eval`;
#   - camera --simulate with BlazeFace (MSE calibration) on the zoo's photo frames: every face ONNX
#     Runtime finds, at IoU >= 0.5, and no confident extra detection;
#   - one-line errors and exit code 1 for a missing camera, a missing I2C bus and a bad frame file;
#   - deploy.sh --dry-run stages the app, the model and the systemd unit;
#   - the bench command (x64): 320x240 YUYV into MNIST and BlazeFace, IMU windows; 0 bytes allocated.
# Prints "N passed, N failed". Needs clang, lld, gcc-aarch64-linux-gnu, qemu-user, /usr/bin/python3 with numpy and onnx.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
py=/usr/bin/python3
qemu=(timeout 600 qemu-aarch64 -cpu cortex-a76 -L /usr/aarch64-linux-gnu)
start=$(date +%s)

dotnet build converter/EdgeQuant.Cli/EdgeQuant.Cli.csproj -c Release -v q -nologo > "$work/build-cli.txt" 2>&1 || { tail -20 "$work/build-cli.txt"; bad "build the CLI"; finish; }
dotnet build boards/RaspberryPi/EdgeQuant.Pi/EdgeQuant.Pi.csproj -c Release -v q -nologo > "$work/build-pi.txt" 2>&1 || { tail -20 "$work/build-pi.txt"; bad "build EdgeQuant.Pi"; finish; }
eq=(dotnet converter/EdgeQuant.Cli/bin/Release/net10.0/edgequant.dll)
pijit=(dotnet boards/RaspberryPi/EdgeQuant.Pi/bin/Release/net10.0/EdgeQuant.Pi.dll)

# 1. NativeAOT publish for linux-arm64, zero warnings.
dotnet publish boards/RaspberryPi/EdgeQuant.Pi/EdgeQuant.Pi.csproj -c Release -r linux-arm64 \
  -p:PublishAot=true -p:LinkerFlavor=lld -o "$work/aot" > "$work/publish.txt" 2>&1
rc=$?
warnings=$(grep -cE "warning (IL|CS|NU|MSB)[0-9]+" "$work/publish.txt" || true)
if [ $rc -eq 0 ] && [ -x "$work/aot/EdgeQuant.Pi" ] && [ "$warnings" -eq 0 ]; then
  ok "NativeAOT linux-arm64 publish, 0 warnings ($(stat -c %s "$work/aot/EdgeQuant.Pi") bytes)"
else
  grep -E "warning|error" "$work/publish.txt" | sort -u | head -20
  bad "NativeAOT publish (exit $rc, $warnings warnings)"; finish
fi
pi=("${qemu[@]}" "$work/aot/EdgeQuant.Pi")

# 2. camera --simulate on MNIST digits upscaled 4x, vs edgequant eval on the originals.
frames=1000
"${eq[@]}" convert tests/zoo/mnist_cnn.onnx --calib tests/zoo/mnist_cnn.calib.npy -o "$work/mnist.eqm" --pixels 0.1307,0.3081 > "$work/convert.txt" 2>&1 || { cat "$work/convert.txt"; bad "convert MNIST with --pixels"; finish; }
"$py" "$here/make_frames.py" tests/zoo "$frames" "$work/frames.npy" "$work/labels.npy" > /dev/null || { bad "make frames"; finish; }
eval_acc=$("${eq[@]}" eval "$work/mnist.eqm" --data tests/zoo/mnist_cnn.test.npy --labels tests/zoo/mnist_cnn.test_labels.npy --json | "$py" -c "import json,sys; print('%.2f' % (100*json.load(sys.stdin)['accuracy']))")
t0=$(date +%s.%N)
"${pi[@]}" camera --model "$work/mnist.eqm" --simulate "$work/frames.npy" --led-pin 17 > "$work/camera.jsonl" 2> "$work/camera.err"
rc=$?
t1=$(date +%s.%N)
read -r cam_acc count < <("$py" - "$work/camera.jsonl" "$work/labels.npy" <<'PY'
import json, sys, numpy as np
rows = [json.loads(l) for l in open(sys.argv[1])]
y = np.load(sys.argv[2])
assert [r["frame"] for r in rows] == list(range(len(rows)))
print("%.2f %d" % (100.0 * sum(r["class"] == y[r["frame"]] for r in rows) / len(y), len(rows)))
PY
)
echo "camera under qemu-aarch64 (cortex-a76): $count frames in $("$py" -c "print(round($t1 - $t0, 1))") s, top-1 $cam_acc%; edgequant eval on the 28x28 originals: $eval_acc%"
if [ $rc -eq 0 ] && [ "$count" = "$frames" ] && [ "$cam_acc" = "$eval_acc" ]; then ok "camera --simulate accuracy $cam_acc% = eval $eval_acc%"; else cat "$work/camera.err" | tail -5; bad "camera --simulate (exit $rc, $count frames, $cam_acc% vs $eval_acc%)"; fi
if grep -q "gpio: pin 17 -> high" "$work/camera.err"; then ok "LED pin changes logged through VirtualGpioController"; else bad "no LED pin change logged"; fi

"${pijit[@]}" camera --model "$work/mnist.eqm" --simulate "$work/frames.npy" > "$work/camera-x64.jsonl" 2>/dev/null
if cmp -s <(sed -E 's/,"latency_us":[0-9]+//' "$work/camera.jsonl") <(sed -E 's/,"latency_us":[0-9]+//' "$work/camera-x64.jsonl"); then
  ok "arm64 NativeAOT and x64 JIT print the same classes and scores"
else bad "arm64 and x64 outputs differ"; fi

# 3. imu --simulate through the simulated MPU6050.
"$py" "$here/make_imu.py" "$work" 32 8 12 > /dev/null || { bad "make IMU replay"; finish; }
"${eq[@]}" convert "$work/imu.onnx" --calib "$work/imu.calib.npy" -o "$work/imu.eqm" > /dev/null 2>&1 || { bad "convert the IMU model"; finish; }
"${pi[@]}" imu --model "$work/imu.eqm" --simulate "$work/imu.replay.npy" --hop 8 > "$work/imu.jsonl" 2> "$work/imu.err"
rc=$?
read -r good scored windows < <("$py" - "$work/imu.jsonl" "$work/imu.window_labels.npy" <<'PY'
import json, sys, numpy as np
rows = [json.loads(l) for l in open(sys.argv[1])]
y = np.load(sys.argv[2])
scored = [(r["class"], y[r["window"]]) for r in rows if r["window"] < len(y) and y[r["window"]] >= 0]
print(sum(c == l for c, l in scored), len(scored), len(rows))
PY
)
echo "imu under qemu-aarch64: $windows windows, $good/$scored inside one segment correct"
if [ $rc -eq 0 ] && [ "$windows" = "141" ] && [ "$good" = "$scored" ] && [ "$scored" -gt 0 ]; then ok "imu --simulate: $good/$scored windows"; else tail -5 "$work/imu.err"; bad "imu --simulate (exit $rc, $windows windows, $good/$scored)"; fi

# 3b. The zoo's imu_gesture model on its replay recording (the test set at hop 64), +-4 g / +-500 deg/s.
"${eq[@]}" convert tests/zoo/imu_gesture.onnx --calib tests/zoo/imu_gesture.calib.npy -o "$work/gesture.eqm" > /dev/null 2>&1 || { bad "convert imu_gesture"; finish; }
gesture_eval=$("${eq[@]}" eval "$work/gesture.eqm" --data tests/zoo/imu_gesture.test.npy --labels tests/zoo/imu_gesture.test_labels.npy --json | "$py" -c "import json,sys; print('%.2f' % (100*json.load(sys.stdin)['accuracy']))")
"${pi[@]}" imu --model "$work/gesture.eqm" --simulate tests/zoo/imu_gesture.replay.npy --hop 64 \
  --mean 0,0,0,0,0,0 --std 9.81,9.81,9.81,100,100,100 > "$work/gesture.jsonl" 2> "$work/gesture.err"
rc=$?
read -r gacc gwin < <("$py" - "$work/gesture.jsonl" tests/zoo/imu_gesture.test_labels.npy <<'PY'
import json, sys, numpy as np
rows = [json.loads(l) for l in open(sys.argv[1])]
y = np.load(sys.argv[2])
print("%.2f %d" % (100.0 * sum(r["class"] == y[r["window"]] for r in rows) / len(y), len(rows)))
PY
)
echo "imu_gesture under qemu-aarch64: $gwin windows, top-1 $gacc%; edgequant eval: $gesture_eval%"
if [ $rc -eq 0 ] && [ "$gwin" = "500" ] && [ "$gacc" = "$gesture_eval" ]; then ok "imu --simulate imu_gesture $gacc% = eval $gesture_eval%"; else tail -3 "$work/gesture.err"; bad "imu_gesture (exit $rc, $gwin windows, $gacc% vs $gesture_eval%)"; fi

# 3c. BlazeFace on the zoo's photo frames: the faces ONNX Runtime finds, at IoU >= 0.5.
bf=tests/zoo/blazeface
"${eq[@]}" convert "$bf/face_detection_front_128x128_barracuda.onnx" --calib "$bf/blazeface.calib.npy" --method mse \
  --pixels 0.5,0.5,0.5,0.5,0.5,0.5 -o "$work/blazeface.eqm" > /dev/null 2>&1 || { bad "convert BlazeFace"; finish; }
"${pi[@]}" camera --model "$work/blazeface.eqm" --simulate "$bf/blazeface.frames.npy" > "$work/blazeface.jsonl" 2> "$work/blazeface.err"
rc=$?
read -r bfound bfaces bextra < <("$py" - "$work/blazeface.jsonl" "$bf/blazeface.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))["frames"]
def iou(a, b):
    ix = min(a[2], b[2]) - max(a[0], b[0]); iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0: return 0.0
    i = ix * iy
    return i / ((a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - i)
found = faces = extra = 0
for r, f in zip(rows, ref):
    ours = [[d["x0"], d["y0"], d["x1"], d["y1"], d["score"]] for d in r["detections"]]
    for d in f["detections"]:
        faces += 1
        found += any(iou(d["box"], o) >= 0.5 for o in ours)
    extra += sum(1 for o in ours if o[4] >= 0.6 and not any(iou(d["box"], o) >= 0.5 for d in f["detections"]))
print(found, faces, extra)
PY
)
echo "BlazeFace under qemu-aarch64: $bfound/$bfaces ORT faces found at IoU >= 0.5, $bextra confident extra detections"
if [ $rc -eq 0 ] && [ "$bfaces" = "6" ] && [ "$bfound" = "6" ] && [ "$bextra" = "0" ]; then ok "BlazeFace camera --simulate: $bfound/$bfaces faces"; else tail -3 "$work/blazeface.err"; bad "BlazeFace (exit $rc, $bfound/$bfaces, $bextra extra)"; fi

# 4. Bad input: one line on stderr, exit code 1.
one_line_error() { # name, expected text, command...
  local name="$1" want="$2"; shift 2
  "$@" > /dev/null 2> "$work/err.txt"; local rc=$?
  if [ $rc -eq 1 ] && [ "$(wc -l < "$work/err.txt")" -eq 1 ] && grep -q -- "$want" "$work/err.txt"; then ok "$name: $(cat "$work/err.txt")"; else bad "$name (exit $rc): $(head -3 "$work/err.txt")"; fi
}
one_line_error "missing camera (x64 JIT, VideoDevice)" "/dev/video7 does not exist" "${pijit[@]}" camera --model "$work/mnist.eqm" --device /dev/video7
one_line_error "camera in the AOT build" "no V4L2 capture" "${pi[@]}" camera --model "$work/mnist.eqm"
one_line_error "missing I2C bus" "/dev/i2c-9 does not exist" "${pi[@]}" imu --model "$work/imu.eqm" --bus 9
one_line_error "frames that are not uint8" "frames must be uint8" "${pi[@]}" camera --model "$work/mnist.eqm" --simulate "$work/imu.replay.npy"
one_line_error "IMU model on the camera" "a camera feeds an image" "${pi[@]}" camera --model "$work/imu.eqm" --simulate "$work/frames.npy"
one_line_error "camera model on the IMU" "not a multiple of 6\|a window of 6-channel samples" "${pi[@]}" imu --model "$work/mnist.eqm" --simulate "$work/imu.replay.npy"

# 5. deploy.sh --dry-run with the published binary.
if bash boards/RaspberryPi/deploy.sh pi.local --aot --dry-run --published "$work/aot" --model "$work/mnist.eqm" --run "camera --led-pin 17" --stage "$work/stage" > "$work/deploy.txt" 2>&1 \
   && grep -q "ExecStart=/opt/edgequant/EdgeQuant.Pi camera --led-pin 17 --model /opt/edgequant/model.eqm" "$work/stage/edgequant-pi.service" \
   && cmp -s "$work/stage/model.eqm" "$work/mnist.eqm" && [ -x "$work/stage/app/EdgeQuant.Pi" ] && grep -q "would run: rsync" "$work/deploy.txt"; then
  ok "deploy.sh --dry-run staged app, model and systemd unit"
else cat "$work/deploy.txt" | tail -10; bad "deploy.sh --dry-run"; fi

# 6. Throughput on this machine (x64 JIT): 320x240 YUYV into MNIST, IMU windows.
"${pijit[@]}" bench --model "$work/mnist.eqm" --frames 2000 --imu-model "$work/gesture.eqm" --windows 20000 > "$work/bench.txt" 2>&1
"${pijit[@]}" bench --model "$work/blazeface.eqm" --frames 100 >> "$work/bench.txt" 2>&1
cat "$work/bench.txt"
if [ "$(grep -c '"allocated_bytes_per_frame":0' "$work/bench.txt")" = 2 ] && grep -q '"allocated_bytes_per_window":0' "$work/bench.txt"; then ok "bench: 0 bytes allocated per frame (MNIST, BlazeFace) and per window"; else bad "bench"; fi

echo "pi-app check took $(( $(date +%s) - start )) s"
finish
