"""Synthetic IMU gesture data and the 1-D convolutional model of the zoo's `imu_gesture`.

No real IMU data set is available on this machine, so the windows are synthesised from simple
physical models of five activities of a hand-held or wrist-worn 6-axis IMU (an MPU6050-class
accelerometer + gyroscope sampled at 50 Hz). Each sample is

    ax, ay, az   specific force in the device frame, m/s^2 (at rest: +9.81 along "up")
    gx, gy, gz   angular rate in the device frame, deg/s

Every window gets a random device orientation (so gravity falls on any axis), per-window
accelerometer and gyroscope biases, white sensor noise, and random amplitude, speed and phase
of the gesture. Values stay within +-4 g and +-500 deg/s (an MPU6050 at its +-4 g / +-500 dps
ranges does not clip them). Everything is drawn from a numpy Generator seeded by the caller,
so the data are reproduced byte for byte.

Classes (index: name):
    0 still   the device lies or is held still (only gravity, bias, noise, a slight tremor)
    1 walk    carried while walking: 1.6-2.3 steps/s, vertical bounce of 0.8-4 m/s^2 with step harmonics,
              lateral sway at half the step rate, small rotations
    2 shake   shaken back and forth along one axis at 3.5-8 Hz, 5-22 m/s^2
    3 circle  moved around a circle in a random plane at 0.8-1.4 turns/s (radius 5-25 cm),
              with or without turning the wrist along (gyro about the circle's normal)
    4 tap     held still, with 1-3 sharp taps in every 64 samples (short decaying impulses of
              4-25 m/s^2 along one axis, with a gyro jolt)
"""

import numpy as np
import torch.nn as nn
import torch.nn.functional as F

RATE_HZ = 50.0
WINDOW = 64
CHANNELS = ["ax", "ay", "az", "gx", "gy", "gz"]
UNITS = ["m/s^2"] * 3 + ["deg/s"] * 3
CLASSES = ["still", "walk", "shake", "circle", "tap"]
GRAVITY = 9.81
ACC_LIMIT = 4 * GRAVITY
GYRO_LIMIT = 500.0


def random_rotation(rng):
    """A uniformly distributed rotation matrix (device -> world), from a random unit quaternion."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def unit(rng):
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _gesture(rng, label, n):
    """World-frame linear acceleration [n,3] (m/s^2) and device-frame angular rate [n,3] (deg/s)."""
    t = np.arange(n) / RATE_HZ
    acc = np.zeros((n, 3))
    gyro = np.zeros((n, 3))
    phase = rng.uniform(0, 2 * np.pi)
    if label == 0:  # still: physiological tremor, 8-12 Hz, tiny
        f = rng.uniform(8, 12)
        acc += 0.05 * np.sin(2 * np.pi * f * t[:, None] + rng.uniform(0, 2 * np.pi, 3))
        gyro += 0.8 * np.sin(2 * np.pi * f * t[:, None] + rng.uniform(0, 2 * np.pi, 3))
    elif label == 1:  # walk
        f = rng.uniform(1.6, 2.3)
        amp = rng.uniform(0.8, 4.0)
        w = 2 * np.pi * f * t + phase
        bounce = amp * (np.cos(w) + rng.uniform(0.2, 0.5) * np.cos(2 * w + rng.uniform(0, 2 * np.pi)))
        heading = rng.uniform(0, 2 * np.pi)
        fwd = np.array([np.cos(heading), np.sin(heading), 0.0])
        side = np.array([-np.sin(heading), np.cos(heading), 0.0])
        acc += bounce[:, None] * np.array([0, 0, 1.0])
        acc += (rng.uniform(0.5, 1.5) * np.sin(w + 0.5))[:, None] * fwd
        acc += (rng.uniform(0.4, 1.2) * np.sin(w / 2))[:, None] * side
        gyro += rng.uniform(10, 40) * np.sin(w / 2)[:, None] * unit(rng)
        gyro += rng.uniform(5, 15) * np.sin(w + 1.0)[:, None] * unit(rng)
    elif label == 2:  # shake
        f = rng.uniform(3.5, 8)
        amp = rng.uniform(5, 22)
        axis = unit(rng)
        w = 2 * np.pi * f * t + phase
        s = amp * (np.sin(w) + rng.uniform(0, 0.25) * np.sin(3 * w))
        acc += s[:, None] * axis
        gyro += rng.uniform(30, 150) * np.cos(w)[:, None] * unit(rng)
    elif label == 3:  # circle
        f = rng.uniform(0.8, 1.4)
        r = rng.uniform(0.05, 0.25)
        w = 2 * np.pi * f
        normal = unit(rng)
        u = np.cross(normal, unit(rng))
        u /= np.linalg.norm(u)
        v = np.cross(normal, u)
        ang = w * t + phase
        # position r (cos, sin) in the plane: acceleration -r w^2 (cos, sin)
        acc += -r * w * w * (np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v)
        if rng.uniform() < 0.5:
            gyro += np.degrees(w) * rng.uniform(0.5, 0.9) * normal
        gyro += rng.uniform(5, 20) * np.sin(ang)[:, None] * unit(rng)
    else:  # tap
        axis = unit(rng)
        # 1-3 taps in every window-length block, so that every window of a recording is a tap window
        starts = []
        for b0 in range(0, n, WINDOW):
            block = np.arange(b0 + 4, min(n, b0 + WINDOW) - 8)
            starts += list(rng.choice(block, size=int(rng.integers(1, 4)), replace=False))
        for s0 in starts:
            amp = rng.uniform(4, 25) * rng.choice([-1.0, 1.0])
            k = np.arange(n - s0)
            # a sharp spike that rings down within ~4 samples (a damped 12-18 Hz oscillation)
            ring = amp * np.exp(-k / rng.uniform(0.8, 1.6)) * np.cos(2 * np.pi * rng.uniform(12, 18) * k / RATE_HZ)
            acc[s0:] += ring[:, None] * axis
            gyro[s0:] += (rng.uniform(20, 80) * np.exp(-k / 1.5))[:, None] * unit(rng)
        acc += 0.05 * rng.normal(size=(n, 3))
    return acc, gyro


def segment(rng, label, n):
    """One continuous recording of `n` samples of gesture `label`, float64 [n, 6] in raw units."""
    rot = random_rotation(rng)  # device -> world
    lin, gyro = _gesture(rng, label, n)
    # the accelerometer measures (linear acceleration + g "up") expressed in the device frame
    specific = lin + np.array([0.0, 0.0, GRAVITY])
    acc = specific @ rot  # world -> device: rot^T a, row-vector form
    acc += rng.normal(scale=0.15, size=3)          # per-window accelerometer bias
    acc += rng.normal(scale=rng.uniform(0.02, 0.12), size=(n, 3))  # white noise (sensor grade varies)
    gyro = gyro + rng.normal(scale=1.5, size=3)      # per-window gyro bias
    gyro += rng.normal(scale=rng.uniform(0.1, 1.0), size=(n, 3))
    out = np.concatenate([acc, gyro], axis=1)
    out[:, :3] = np.clip(out[:, :3], -ACC_LIMIT, ACC_LIMIT)
    out[:, 3:] = np.clip(out[:, 3:], -GYRO_LIMIT, GYRO_LIMIT)
    return out


def windows(rng, per_class):
    """`per_class` independent windows of each class, shuffled: raw float32 [N, 64, 6], labels int64."""
    xs, ys = [], []
    for label in range(len(CLASSES)):
        for _ in range(per_class):
            xs.append(segment(rng, label, WINDOW))
            ys.append(label)
    order = rng.permutation(len(xs))
    return np.stack(xs)[order].astype(np.float32), np.array(ys, np.int64)[order]


def recording(rng, total_windows):
    """A continuous recording of `total_windows` * 64 samples: gestures one after another, each
    2-4 windows long (one continuous signal across its windows; the last one is cut to fit).
    Returns raw float32 [T, 6] and the label of every 64-sample window at hop 64 from sample 0
    (int64 [total_windows])."""
    parts, labels = [], []
    while len(labels) < total_windows:
        label = int(rng.integers(len(CLASSES)))
        count = int(rng.integers(2, 5))
        parts.append(segment(rng, label, count * WINDOW))
        labels += [label] * count
    raw = np.concatenate(parts)[:total_windows * WINDOW]
    return raw.astype(np.float32), np.array(labels[:total_windows], np.int64)


def normalise(raw, mean, std):
    """raw float32 [..., T, 6] -> the model's input [..., 6, T] = (raw - mean) / std per channel."""
    x = (raw - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(np.swapaxes(x, -1, -2), dtype=np.float32)


class ImuGestureNet(nn.Module):
    """Conv1d(6->16,k5)+BN+ReLU, MaxPool 2, depthwise Conv1d(16,k5)+BN+ReLU, pointwise
    Conv1d(16->32)+BN+ReLU, MaxPool 2, dilated Conv1d(32->32,k3,d2)+BN+ReLU, global average
    pooling, Linear(32->5). Input [N, 6, 64]."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(6, 16, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm1d(16)
        self.dw = nn.Conv1d(16, 16, 5, padding=2, groups=16, bias=False)
        self.bn2 = nn.BatchNorm1d(16)
        self.pw = nn.Conv1d(16, 32, 1, bias=False)
        self.bn3 = nn.BatchNorm1d(32)
        self.conv4 = nn.Conv1d(32, 32, 3, padding=2, dilation=2, bias=False)
        self.bn4 = nn.BatchNorm1d(32)
        self.pool = nn.MaxPool1d(2)
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(32, len(CLASSES))

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))   # [N,16,32]
        x = F.relu(self.bn2(self.dw(x)))
        x = self.pool(F.relu(self.bn3(self.pw(x))))      # [N,32,16]
        x = F.relu(self.bn4(self.conv4(x)))
        return self.fc(self.gap(x).flatten(1))
