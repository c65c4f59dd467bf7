#!/usr/bin/env python3
"""Simulated camera frames for tools/pi-app/check.sh: the zoo's MNIST test digits back to their
uint8 pixels (the zoo stores (pixel/255 - 0.1307)/0.3081 in float32) and upscaled 4x by pixel
replication to 112x112. Writes FRAMES.npy (uint8 [N, 112, 112]) and LABELS.npy (int64 [N]).

usage: make_frames.py ZOO_DIR COUNT FRAMES.npy LABELS.npy
"""
import sys
import numpy as np

zoo, count, frames_path, labels_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
x = np.load(f"{zoo}/mnist_cnn.test.npy")[:count]          # [N, 1, 28, 28] float32
y = np.load(f"{zoo}/mnist_cnn.test_labels.npy")[:count]
pixels = np.rint((x[:, 0].astype(np.float64) * 0.3081 + 0.1307) * 255)
assert pixels.min() >= 0 and pixels.max() <= 255
frames = np.repeat(np.repeat(pixels.astype(np.uint8), 4, axis=1), 4, axis=2)
np.save(frames_path, frames)
np.save(labels_path, y.astype(np.int64))
print(f"{frames.shape[0]} frames {frames.shape[1]}x{frames.shape[2]}")
