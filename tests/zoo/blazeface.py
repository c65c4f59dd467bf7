"""BlazeFace (MediaPipe's front-camera face detector, 128x128) for the zoo: frames cut from
scikit-image's sample photos, ONNX Runtime's float outputs on them, the SSD anchors, and
ONNX Runtime's decoded detections. Called by generate.py (part `blazeface`); writes into
tests/zoo/blazeface/. The ONNX model itself is committed as obtained (see blazeface/README.md).

Frames: square crops whose side is a multiple of 128, shrunk to 128x128 by averaging
(side/128)^2 pixel blocks (an exact area resize), rounded half to even to uint8, RGB (grey photos
repeated over the three channels). Model input: x = pixel / 127.5 - 1 (float32, [-1, 1]), NHWC
[1, 128, 128, 3], rows top to bottom (MediaPipe's convention; the model finds the upright faces).

Decoding (MediaPipe's front model options): 896 anchors, 16x16 cells x 2 anchors (stride 8)
then 8x8 cells x 6 anchors (strides 16, 16, 16 merged), anchor centre ((x + 0.5) / cells,
(y + 0.5) / cells), fixed anchor size 1. For anchor a with raw box row r[16]:
centre = anchor + (r[0], r[1]) / 128, size = (r[2], r[3]) / 128, key point k =
anchor + (r[4 + 2k], r[5 + 2k]) / 128 (normalised image coordinates, x right, y down);
score = sigmoid(raw score) (raw clipped to +-100). Detections: score >= 0.5, then greedy
non-maximum suppression by score at IoU 0.3.
"""

import json
import os
import subprocess

import numpy as np

SIZE = 128
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
MODEL = "face_detection_front_128x128_barracuda.onnx"
SCORE_THRESHOLD = 0.5
NMS_IOU = 0.3

# (name, photo, top, left, side, mirrored): test frames (faces and non-faces)
TEST_FRAMES = [
    ("astronaut_face_256", "astronaut.png", 0, 96, 256, False),
    ("astronaut_face_256_mirrored", "astronaut.png", 0, 96, 256, True),
    ("astronaut_face_128", "astronaut.png", 56, 160, 128, False),
    ("astronaut_384", "astronaut.png", 0, 32, 384, False),
    ("astronaut_full_512", "astronaut.png", 0, 0, 512, False),
    ("camera_man_256", "camera.png", 40, 100, 256, False),
    ("coffee_384", "coffee.png", 8, 108, 384, False),
    ("chelsea_cat_256", "chelsea.png", 22, 97, 256, False),
    ("rocket_384", "rocket.jpg", 21, 128, 384, False),
]

# calibration frames: other crops of the same photos and other sample photos
CALIB_FRAMES = [
    ("astronaut_face_256_b", "astronaut.png", 16, 112, 256, False),
    ("astronaut_face_256_c", "astronaut.png", 0, 64, 256, True),
    ("astronaut_face_128_b", "astronaut.png", 48, 168, 128, True),
    ("astronaut_384_b", "astronaut.png", 64, 96, 384, True),
    ("astronaut_flag_256", "astronaut.png", 0, 0, 256, False),
    ("astronaut_helmet_256", "astronaut.png", 256, 256, 256, False),
    ("camera_man_256_b", "camera.png", 24, 120, 256, True),
    ("camera_512", "camera.png", 0, 0, 512, False),
    ("coffee_256", "coffee.png", 100, 300, 256, False),
    ("chelsea_cat_256_b", "chelsea.png", 0, 150, 256, True),
    ("rocket_256", "rocket.jpg", 100, 200, 256, False),
    ("hubble_512", "hubble_deep_field.jpg", 0, 0, 512, False),
]


def load_photo(name):
    from skimage import io
    img = io.imread(os.path.join(SKIMAGE_DATA, name))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


def frame(spec):
    _, photo, top, left, side, mirrored = spec
    assert side % SIZE == 0, spec
    img = load_photo(photo)
    assert top + side <= img.shape[0] and left + side <= img.shape[1], (spec, img.shape)
    c = img[top:top + side, left:left + side].astype(np.float64)
    f = side // SIZE
    small = np.round(c.reshape(SIZE, f, SIZE, f, 3).mean(axis=(1, 3))).astype(np.uint8)
    return small[:, ::-1] if mirrored else small


def normalise(frames_u8):
    return (frames_u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).astype(np.float32)


def anchors():
    """[896, 2] anchor centres (x, y), normalised, in the model's output order."""
    rows = []
    for cells, per_cell in ((16, 2), (8, 6)):
        for y in range(cells):
            for x in range(cells):
                for _ in range(per_cell):
                    rows.append(((x + 0.5) / cells, (y + 0.5) / cells))
    return np.array(rows, np.float32)


def decode(scores, boxes, anchor):
    """Raw outputs of one frame (scores [896], boxes [896, 16]) -> detections after NMS."""
    s = 1.0 / (1.0 + np.exp(-np.clip(scores.astype(np.float64), -100, 100)))
    b = boxes.astype(np.float64) / SIZE
    cx, cy = anchor[:, 0] + b[:, 0], anchor[:, 1] + b[:, 1]
    w, h = b[:, 2], b[:, 3]
    cand = [i for i in np.argsort(-s, kind="stable") if s[i] >= SCORE_THRESHOLD]
    kept = []
    for i in cand:
        box = (cx[i] - w[i] / 2, cy[i] - h[i] / 2, cx[i] + w[i] / 2, cy[i] + h[i] / 2)
        if all(iou(box, k["box"]) <= NMS_IOU for k in kept):
            kept.append({"anchor": int(i), "score": round(float(s[i]), 5),
                         "box": tuple(round(float(v), 5) for v in box),
                         "keypoints": [[round(float(anchor[i, 0] + b[i, 4 + 2 * k]), 5),
                                        round(float(anchor[i, 1] + b[i, 5 + 2 * k]), 5)]
                                       for k in range(6)]})
    for k in kept:
        k["box"] = list(k["box"])
    return kept


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def run_ort(here, workdir, model, inputs, output, out_path):
    env = dict(os.environ)
    env["NODE_PATH"] = os.path.join(workdir, "node_modules")
    cmd = ["node", os.path.join(here, "ort_eval.js"), "--model", model, "--input", inputs,
           "--batch", "1", "--output", output, "--out", out_path]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return np.load(out_path)


def build(folder, workdir, save_npy, write_json):
    """Writes frames, calibration data, ORT outputs, anchors and detections into `folder`."""
    import tempfile
    here = os.path.dirname(os.path.abspath(__file__))
    model = os.path.join(folder, MODEL)
    test = np.stack([frame(s) for s in TEST_FRAMES])
    calib = np.stack([frame(s) for s in CALIB_FRAMES])
    save_npy(os.path.join(folder, "blazeface.frames.npy"), test, np.uint8)
    save_npy(os.path.join(folder, "blazeface.calib_frames.npy"), calib, np.uint8)
    save_npy(os.path.join(folder, "blazeface.calib.npy"), normalise(calib), np.float32)
    anchor = anchors()
    save_npy(os.path.join(folder, "blazeface.anchors.npy"), anchor, np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        inputs = os.path.join(tmp, "input.npy")
        np.save(inputs, normalise(test))
        raw = {name: run_ort(here, workdir, model, inputs, name, os.path.join(tmp, f"o{k}.npy"))
               for k, name in enumerate(("Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"))}
    n = len(test)
    scores = np.concatenate([raw["Identity:0"].reshape(n, 512), raw["Identity_1:0"].reshape(n, 384)], 1)
    boxes = np.concatenate([raw["Identity_2:0"].reshape(n, 512, 16),
                            raw["Identity_3:0"].reshape(n, 384, 16)], 1)
    save_npy(os.path.join(folder, "blazeface.ort_scores.npy"), scores, np.float32)
    save_npy(os.path.join(folder, "blazeface.ort_boxes.npy"), boxes, np.float32)
    scores = np.load(os.path.join(folder, "blazeface.ort_scores.npy"))
    boxes = np.load(os.path.join(folder, "blazeface.ort_boxes.npy"))

    frames = []
    for i, spec in enumerate(TEST_FRAMES):
        dets = decode(scores[i], boxes[i], anchor)
        frames.append({"index": i, "name": spec[0], "photo": spec[1], "crop_top": spec[2],
                       "crop_left": spec[3], "crop_side": spec[4], "mirrored": spec[5],
                       "detections": dets})
        print(f"    {spec[0]}: {len(dets)} face(s) " +
              ", ".join(f"{d['score']:.3f} at {d['box']}" for d in dets), flush=True)
    write_json(os.path.join(folder, "blazeface.json"), {
        "model": MODEL,
        "input": {"name": "input:0", "shape": [1, SIZE, SIZE, 3], "layout": "NHWC, RGB, rows top to bottom",
                  "normalisation": "x = pixel / 127.5 - 1 (float32), i.e. (pixel/255 - 0.5) / 0.5",
                  "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
        "outputs": {"Identity:0": "[1, 512, 1] raw scores, stride-8 anchors",
                    "Identity_1:0": "[1, 384, 1] raw scores, stride-16 anchors",
                    "Identity_2:0": "[1, 512, 16] raw boxes and key points, stride-8 anchors",
                    "Identity_3:0": "[1, 384, 16] raw boxes and key points, stride-16 anchors"},
        "anchors": {"file": "blazeface.anchors.npy", "count": int(len(anchor)),
                    "input_size": SIZE, "strides": [8, 16, 16, 16], "num_layers": 4,
                    "anchors_per_cell": {"stride 8 (16x16 cells)": 2, "stride 16 (8x8 cells)": 6},
                    "min_scale": 0.1484375, "max_scale": 0.75, "anchor_offset": [0.5, 0.5],
                    "aspect_ratios": [1.0], "fixed_anchor_size": True,
                    "order": "stride-8 layer then stride-16 layer; row-major cells; anchors of a cell consecutive"},
        "decoding": {"x_scale": SIZE, "y_scale": SIZE, "w_scale": SIZE, "h_scale": SIZE,
                     "box": "centre = anchor + raw[0:2] / 128, size = raw[2:4] / 128 (normalised, x right, y down)",
                     "keypoints": "6 points: anchor + raw[4+2k : 6+2k] / 128 (right eye, left eye, nose, mouth, right ear, left ear)",
                     "score": "sigmoid(raw score clipped to +-100)",
                     "score_threshold": SCORE_THRESHOLD, "nms": f"greedy by score, IoU > {NMS_IOU} suppressed"},
        "ort_outputs": {"scores": "blazeface.ort_scores.npy float32 [frames, 896] (Identity:0 then Identity_1:0)",
                        "boxes": "blazeface.ort_boxes.npy float32 [frames, 896, 16] (Identity_2:0 then Identity_3:0)",
                        "runtime": "onnxruntime-node 1.30.0, 1 thread, graphOptimizationLevel basic"},
        "frames_file": "blazeface.frames.npy uint8 [frames, 128, 128, 3]",
        "calibration": {"file": "blazeface.calib.npy float32 (normalised)",
                        "frames_file": "blazeface.calib_frames.npy uint8",
                        "frames": [{"name": s[0], "photo": s[1], "crop_top": s[2], "crop_left": s[3],
                                    "crop_side": s[4], "mirrored": s[5]} for s in CALIB_FRAMES]},
        "frames": frames,
    })
