#!/usr/bin/python3
"""Writes digits_lstm.onnx, digits_lstm.calib.npy and digits_lstm.test.npy into OUT_DIR (default: .): a small
bidirectional LSTM over the 8 rows of sklearn's 8x8 digits (LSTM(8 -> 20, bidirectional), the last step's
40 features, Linear(40 -> 10)), trained for a few epochs with a fixed seed. Input to the firmware golden
generator (firmware/tests/golden/README.md): the ONNX file is converted with `edgequant convert` and committed
as digits_lstm.eqm / digits_lstm.int4.eqm. Run with Debian's /usr/bin/python3 (torch 1.13, sklearn).
"""
import sys
import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits

out = sys.argv[1] if len(sys.argv) > 1 else "."
torch.manual_seed(23)
np.random.seed(23)


class DigitsLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 20, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(40, 10)

    def forward(self, x):           # x [N, 8, 8]: 8 steps of 8 pixels
        y, _ = self.lstm(x)
        return self.fc(y[:, -1, :])


d = load_digits()
x = (d.images / 16.0).astype(np.float32)
y = d.target.astype(np.int64)
idx = np.random.permutation(len(x))
train, test = idx[:1400], idx[1400:]
m = DigitsLSTM()
opt = torch.optim.Adam(m.parameters(), lr=1e-2)
xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train])
for epoch in range(15):
    for b in range(0, len(xt), 32):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(xt[b:b + 32]), yt[b:b + 32])
        loss.backward()
        opt.step()
m.eval()
with torch.no_grad():
    acc = (m(torch.from_numpy(x[test])).argmax(1).numpy() == y[test]).mean()
print(f"test accuracy {acc:.3f}")
torch.onnx.export(m, torch.from_numpy(x[:1]), f"{out}/digits_lstm.onnx", input_names=["input"], output_names=["logits"],
                  opset_version=13, dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
np.save(f"{out}/digits_lstm.calib.npy", x[train[:300]])
np.save(f"{out}/digits_lstm.test.npy", x[test[:100]])
