#!/usr/bin/env python3
"""An IMU replay and a hand-weighted model for tools/pi-app/check.sh (until the zoo has a trained
IMU model). The model classifies a window [N, 6, T] by the axis gravity points along: a 1x1
Conv1d keeps the three accelerometer channels, GlobalAveragePool averages them over time and an
identity Gemm gives 3 logits (0 = x, 1 = y, 2 = z). The replay is float32 [S, 6] (m/s^2 then
deg/s): segments of SEG samples with gravity (9.807 m/s^2) along a random axis, +-1 m/s^2 of
noise and random rotation rates within +-200 deg/s. Writes, in OUT_DIR:
  imu.onnx, imu.calib.npy ([N, 6, T] float32), imu.replay.npy ([S, 6] float32),
  imu.window_labels.npy (int64 per window of the replay with the given hop; -1 when the window
  straddles two segments).

usage: make_imu.py OUT_DIR T HOP SEGMENTS
"""
import sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

out, T, hop, segments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
SEG = 96
rng = np.random.default_rng(5)


def recording(n):
    axes = rng.integers(0, 3, n)
    s = np.zeros((n * SEG, 6), np.float32)
    s[:, :3] = rng.uniform(-1, 1, (n * SEG, 3))
    s[:, 3:] = rng.uniform(-200, 200, (n * SEG, 3))
    for k, a in enumerate(axes):
        s[k * SEG:(k + 1) * SEG, a] += 9.807
    return s, axes


w = np.zeros((3, 6, 1), np.float32)
for k in range(3):
    w[k, k, 0] = 1
graph = helper.make_graph(
    [helper.make_node("Conv", ["imu", "w"], ["c"], name="select"),
     helper.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
     helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
     helper.make_node("Gemm", ["f", "fc", "fcb"], ["logits"], name="fc", transB=1)],
    "imu_orientation",
    [helper.make_tensor_value_info("imu", TensorProto.FLOAT, ["N", 6, T])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
    [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.eye(3, dtype=np.float32), "fc"),
     numpy_helper.from_array(np.zeros(3, np.float32), "fcb")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tools/pi-app/make_imu.py")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, f"{out}/imu.onnx")

cal, _ = recording(8)
n = len(cal) // T
np.save(f"{out}/imu.calib.npy", np.ascontiguousarray(cal[:n * T].reshape(n, T, 6).transpose(0, 2, 1)))

replay, axes = recording(segments)
np.save(f"{out}/imu.replay.npy", replay)
labels = []
for start in range(0, len(replay) - T + 1, hop):
    a, b = start // SEG, (start + T - 1) // SEG
    labels.append(int(axes[a]) if a == b else -1)
np.save(f"{out}/imu.window_labels.npy", np.array(labels, np.int64))
print(f"replay {replay.shape}, {len(labels)} windows, {sum(l >= 0 for l in labels)} inside one segment")
