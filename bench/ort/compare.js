#!/usr/bin/env node
// EdgeQuant vs onnxruntime latency, one model at a time, alternating in rounds.
// Normally started by compare.sh, which converts and exports the models first.
//
// Usage:
//   node bench/ort/compare.js --work DIR --zoo tests/zoo --timer TIMER.dll --models a,b,c
//        [--runs N] [--rounds K] [--warmup W] [--samples S] [--json OUT.json]
//
// For every model, DIR holds <model>.eqm and <model>.qdq.onnx. Per model:
//   * onnxruntime, all sessions with intraOpNumThreads 1, interOpNumThreads 1, sequential
//     execution and graphOptimizationLevel 'all':
//       - "profiler": enableProfiling; latency = each run's `model_run` event duration in the
//         profile (ORT's own time in Run, without the Node binding, but with the profiler's
//         per-node bookkeeping, which is not small for models this size);
//       - "run() - binding": a second session without profiling, timed around session.run()
//         in Node, minus the median run() time of a one-node model (Flatten) with the same
//         input, which is the Node binding's and ORT's fixed per-run cost (the two sessions
//         run alternately, one run each, so they see the same conditions);
//   * EdgeQuant: one long-lived edgequant-bench-timer process (warmed up for 3 s), timed with
//     Stopwatch around quantize input + Invoke + dequantize output (the same float-in,
//     float-out work as the ONNX graph's run).
//   W warm-up runs each, then K rounds; each round does N runs of every session and then N
//   EdgeQuant runs, so drifting machine load hits all alike. All cycle through the first S
//   test samples.
// Prints a markdown table and writes the raw numbers to --json.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { spawn } = require('child_process');
const { readNpy } = require('./npy');
const { parseArgs } = require('./args');


function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function stats(values) {
  const s = Float64Array.from(values).sort();
  return { n: s.length, median: quantile(s, 0.5), p99: quantile(s, 0.99), min: s[0] };
}

/** The EdgeQuant timer process: `ready` handshake, then `run N` -> N durations in microseconds. */
class Timer {
  constructor(dll, eqm, samples, sampleCount) {
    this.proc = spawn('dotnet', [dll, eqm, samples, '--samples', String(sampleCount)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = readline.createInterface({ input: this.proc.stdout });
    this.waiting = [];
    this.lines.on('line', line => {
      const w = this.waiting.shift();
      if (w) w(line);
    });
    this.proc.on('exit', code => {
      for (const w of this.waiting.splice(0)) w(`error timer exited with code ${code}`);
    });
  }

  next() {
    return new Promise(resolve => this.waiting.push(resolve));
  }

  async ready() {
    const line = await this.next();
    if (!line.startsWith('ready ')) throw new Error(`edgequant-bench-timer: ${line}`);
    return JSON.parse(line.slice(6));
  }

  async run(n) {
    const reply = this.next();
    this.proc.stdin.write(`run ${n}\n`);
    const line = await reply;
    if (!line.startsWith('times ')) throw new Error(`edgequant-bench-timer: ${line}`);
    return line.slice(6).split(' ').map(Number);
  }

  quit() {
    this.proc.stdin.write('quit\n');
    this.proc.stdin.end();
  }
}

async function benchModel(ort, args, name) {
  const count = Number(args.runs || 200);
  const rounds = Number(args.rounds || 10);
  const warmup = Number(args.warmup || 200);
  const sampleCount = Number(args.samples || 100);
  const work = path.resolve(args.work);
  const onnx = path.join(work, `${name}.qdq.onnx`);
  const eqm = path.join(work, `${name}.eqm`);
  const samplesPath = path.resolve(args.zoo, `${name}.test.npy`);

  const x = readNpy(samplesPath);
  const per = x.data.length / x.shape[0];
  const n = Math.min(sampleCount, x.shape[0]);
  const dims = [1, ...x.shape.slice(1)];
  const profileDir = fs.mkdtempSync(path.join(work, `${name}.profile-`));
  const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const profiled = await ort.InferenceSession.create(onnx, { ...options, enableProfiling: true, profileFilePrefix: path.join(profileDir, 'ort') });
  const plain = await ort.InferenceSession.create(onnx, options);
  const baseline = await ort.InferenceSession.create(flattenModel(dims), options);
  const tensors = [];
  for (let i = 0; i < n; i++) tensors.push(new ort.Tensor('float32', x.data.slice(i * per, (i + 1) * per), dims));

  // Runs `count` inferences of each session in turn (s1, s2, s1, s2, ...), cycling through the
  // samples; returns the run() wall times in us of each session.
  async function runs(sessions, count) {
    const wall = sessions.map(() => new Array(count));
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < sessions.length; k++) {
        const feeds = { [sessions[k].inputNames[0]]: tensors[i % n] };
        const t0 = process.hrtime.bigint();
        await sessions[k].run(feeds);
        wall[k][i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
    }
    return wall;
  }

  const timer = new Timer(path.resolve(args.timer), eqm, samplesPath, n);
  const timerInfo = await timer.ready();
  await runs([profiled, plain, baseline], warmup);

  const eq = [], plainWall = [], baseWall = [];
  const eqRoundMedians = [], estimateRoundMedians = [];
  for (let r = 0; r < rounds; r++) {
    await runs([profiled], count);
    const [p, b] = await runs([plain, baseline], count);
    const t = await timer.run(count);
    plainWall.push(...p);
    baseWall.push(...b);
    eq.push(...t);
    eqRoundMedians.push(stats(t).median);
    estimateRoundMedians.push(stats(p).median - stats(b).median);
  }
  timer.quit();
  profiled.endProfiling();
  for (const s of [profiled, plain, baseline]) await s.release();

  const profileFile = fs.readdirSync(profileDir).filter(f => f.endsWith('.json')).map(f => path.join(profileDir, f))[0];
  if (!profileFile) throw new Error(`no onnxruntime profile written in ${profileDir}`);
  const events = JSON.parse(fs.readFileSync(profileFile, 'utf8'));
  const modelRuns = events.filter(e => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts).map(e => e.dur);
  if (modelRuns.length !== warmup + rounds * count) {
    throw new Error(`${profileFile}: ${modelRuns.length} model_run events, expected ${warmup + rounds * count}`);
  }
  const ortTimes = modelRuns.slice(warmup);
  const ortRoundMedians = [];
  for (let r = 0; r < rounds; r++) ortRoundMedians.push(stats(ortTimes.slice(r * count, (r + 1) * count)).median);
  fs.rmSync(profileDir, { recursive: true, force: true });

  const plainStats = stats(plainWall), baseStats = stats(baseWall), eqStats = stats(eq), ortStats = stats(ortTimes);
  const estimate = plainStats.median - baseStats.median;
  return {
    model: name,
    edgequant: { ...eqStats, round_medians: eqRoundMedians },
    onnxruntime_profiler_model_run: { ...ortStats, round_medians: ortRoundMedians },
    onnxruntime_run_wall: plainStats,
    binding_baseline_run_wall: baseStats,
    onnxruntime_run_minus_baseline: { median: estimate, round_medians: estimateRoundMedians },
    ratio_vs_profiler: eqStats.median / ortStats.median,
    ratio_vs_run_minus_baseline: eqStats.median / estimate,
    timer: timerInfo,
  };
}

// ---- a one-node ONNX model (x -> Flatten -> y), encoded by hand ----------------------------
function varint(n) {
  const b = [];
  while (n > 0x7f) { b.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  b.push(n);
  return Buffer.from(b);
}
const tag = (field, wire) => varint(field * 8 + wire);
const bytesField = (field, buf) => Buffer.concat([tag(field, 2), varint(buf.length), buf]);
const strField = (field, s) => bytesField(field, Buffer.from(s, 'utf8'));
const intField = (field, v) => Buffer.concat([tag(field, 0), varint(v)]);

function valueInfo(name, dims) {
  const shape = Buffer.concat(dims.map(d => bytesField(1, intField(1, d))));
  const tensorType = Buffer.concat([intField(1, 1 /* FLOAT */), bytesField(2, shape)]);
  return Buffer.concat([strField(1, name), bytesField(2, bytesField(1, tensorType))]);
}

/** ModelProto of y = Flatten(x, axis 1) for a float input of shape `dims` (opset 13). */
function flattenModel(dims) {
  const axis = Buffer.concat([strField(1, 'axis'), intField(3, 1), intField(20, 2 /* INT */)]);
  const node = Buffer.concat([strField(1, 'x'), strField(2, 'y'), strField(4, 'Flatten'), bytesField(5, axis)]);
  const rest = dims.slice(1).reduce((a, b) => a * b, 1);
  const graph = Buffer.concat([bytesField(1, node), strField(2, 'binding_baseline'),
    bytesField(11, valueInfo('x', dims)), bytesField(12, valueInfo('y', [dims[0], rest]))]);
  const opset = Buffer.concat([strField(1, ''), intField(2, 13)]);
  return Buffer.concat([intField(1, 8), bytesField(7, graph), bytesField(8, opset)]);
}

function machine() {
  const cpus = os.cpus();
  let flags = '';
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^flags\s*:\s*(.*)$/m.exec(info);
    if (m) {
      const f = new Set(m[1].split(/\s+/));
      flags = ['avx2', 'avx512bw', 'avx512_vnni', 'avx_vnni'].filter(x => f.has(x)).join(' ');
    }
  } catch (_) { /* not Linux */ }
  return {
    cpu: cpus.length ? cpus[0].model.trim() : 'unknown',
    logical_cpus: cpus.length,
    cpu_flags: flags,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
}

async function main() {
  const args = parseArgs(process.argv);
  for (const k of ['work', 'zoo', 'timer', 'models']) if (!args[k]) throw new Error(`--${k} is required`);
  const ort = require('onnxruntime-node');
  const results = [];
  for (const name of args.models.split(',')) {
    process.stderr.write(`benchmarking ${name} ...\n`);
    results.push(await benchModel(ort, args, name));
  }
  const m = machine();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const runs = Number(args.runs || 200), rounds = Number(args.rounds || 10);
  const f = v => v.toFixed(1);
  const lines = [];
  lines.push(`EdgeQuant vs onnxruntime ${ort.env.versions.common}, single thread, batch 1, ${rounds} alternating rounds x ${runs} runs per model`);
  lines.push(`machine: ${m.cpu} (${m.logical_cpus} logical CPUs; ${m.cpu_flags || 'flags unknown'}), ${m.os}; ` +
    `.NET ${results[0].timer.dotnet} (${results[0].timer.isa}), Node ${m.node}; ${date}`);
  lines.push('');
  lines.push('| model | EdgeQuant median us (p99) | ORT profiler model_run median us (p99) | ORT run() - binding, median us | EdgeQuant / ORT (profiler) | EdgeQuant / ORT (run() - binding) |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const o = r.onnxruntime_profiler_model_run;
    lines.push(`| \`${r.model}\` | ${f(r.edgequant.median)} (${f(r.edgequant.p99)}) | ${f(o.median)} (${f(o.p99)}) | ` +
      `${f(r.onnxruntime_run_minus_baseline.median)} | ${r.ratio_vs_profiler.toFixed(2)} | ${r.ratio_vs_run_minus_baseline.toFixed(2)} |`);
  }
  lines.push('');
  lines.push('ORT run() without profiler, median us: ' + results.map(r => `${r.model} ${f(r.onnxruntime_run_wall.median)}`).join(', ') +
    '; one-node Flatten model with the same input (binding + fixed per-run cost): ' +
    results.map(r => `${r.model} ${f(r.binding_baseline_run_wall.median)}`).join(', '));
  lines.push('Round medians (us), EdgeQuant | ORT profiler | ORT run() - binding:');
  for (const r of results) {
    lines.push(`  ${r.model}: ${r.edgequant.round_medians.map(f).join(' ')} | ${r.onnxruntime_profiler_model_run.round_medians.map(f).join(' ')} | ` +
      `${r.onnxruntime_run_minus_baseline.round_medians.map(f).join(' ')}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({ date, machine: m, onnxruntime: ort.env.versions.common, runs, rounds, results }, null, 2) + '\n');
  }
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
