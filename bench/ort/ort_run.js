#!/usr/bin/env node
// Runs an ONNX model (one float32 input, first output) with onnxruntime-node on samples from
// an .npy file and writes the outputs as float32 .npy. EdgeQuant's export test calls it to
// compare onnxruntime with the EdgeQuant interpreter.
//
// Usage:
//   node bench/ort/ort_run.js --model M.onnx --input X.npy --out Y.npy
//        [--first K] [--batch B] [--opt all|extended|basic|disabled] [--optimized-model P.onnx]
//        [--outputs-dir DIR]
//
//   --input            float32 [N, ...] in the model's input layout (axis 0 is the sample)
//   --first K          use the first K samples (default: all)
//   --batch B          samples per session.run (default: K when the model's batch is
//                      symbolic; use 1 for a model with a fixed batch of 1)
//   --opt              graphOptimizationLevel (default all: onnxruntime fuses the QDQ groups
//                      into its int8 kernels, as in the benchmark)
//   --optimized-model  also writes the graph onnxruntime actually runs (to see the fusions)
//   --outputs-dir      also writes every output of the model to DIR/<output name>.npy (as
//                      float32, whatever its type; for layer-by-layer comparisons)
//
// The session is single-threaded and sequential. Prints one JSON line:
//   {"samples":K,"output_shape":[K,...],"onnxruntime":"1.30.0","opt":"all"}
// onnxruntime-node is found through the normal Node resolution from this folder
// (bench/ort/node_modules) or NODE_PATH; see bench/ort/README.md for the install command.
'use strict';

const path = require('path');
const { readNpy, writeNpyFloat32 } = require('./npy');
const { parseArgs } = require('./args');


async function main() {
  const ort = require('onnxruntime-node');
  const args = parseArgs(process.argv);
  if (!args.model || !args.input || !args.out) throw new Error('--model, --input and --out are required');
  const x = readNpy(args.input);
  if (x.dtype !== '<f4') throw new Error(`${args.input}: expected float32, found ${x.dtype}`);
  const total = x.shape[0];
  const per = x.data.length / total;
  const first = args.first ? Math.min(Number(args.first), total) : total;
  const opt = args.opt || 'all';
  const options = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opt,
  };
  if (args['optimized-model']) options.optimizedModelFilePath = args['optimized-model'];
  const session = await ort.InferenceSession.create(args.model, options);
  const inName = session.inputNames[0];
  const names = args['outputs-dir'] ? session.outputNames : [session.outputNames[0]];
  const batch = args.batch ? Number(args.batch) : first;

  // Per output: the values of all samples, and the shape of one sample.
  const out = {};
  for (let s = 0; s < first; s += batch) {
    const b = Math.min(batch, first - s);
    const t = new ort.Tensor('float32', x.data.slice(s * per, (s + b) * per), [b, ...x.shape.slice(1)]);
    const r = await session.run({ [inName]: t }, names);
    for (const name of names) {
      const y = r[name];
      if (!out[name]) {
        const samplePer = y.data.length / b;
        out[name] = { per: samplePer, tail: y.dims.slice(1), data: new Float32Array(first * samplePer) };
      }
      const o = out[name];
      for (let i = 0; i < y.data.length; i++) o.data[s * o.per + i] = Number(y.data[i]);
    }
  }
  const first0 = out[names[0]];
  writeNpyFloat32(args.out, [first, ...first0.tail], first0.data);
  if (args['outputs-dir']) {
    for (const name of names) writeNpyFloat32(path.join(args['outputs-dir'], `${name}.npy`), [first, ...out[name].tail], out[name].data);
  }
  process.stdout.write(JSON.stringify({ samples: first, output_shape: [first, ...first0.tail], onnxruntime: ort.env.versions.common, opt }) + '\n');
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
