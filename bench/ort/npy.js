// Minimal NumPy .npy reader and writer (format 1.0/2.0, little-endian, C order) for the
// EdgeQuant onnxruntime scripts in this folder.
'use strict';

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

/** Reads an .npy file: { shape: number[], dtype: '<f4'|'<i8'|'<i4'|'|i1', data: TypedArray }. */
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${path}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeText) throw new Error(`${path}: malformed header ${header}`);
  if (fortran[1] !== 'False') throw new Error(`${path}: Fortran order is not supported`);
  const shape = shapeText[1].split(',').map(s => s.trim()).filter(s => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLen);
  const kinds = { '<f4': [Float32Array, 4], '<i8': [BigInt64Array, 8], '<i4': [Int32Array, 4], '|i1': [Int8Array, 1] };
  const kind = kinds[descr[1]];
  if (!kind) throw new Error(`${path}: dtype ${descr[1]} is not supported`);
  const [Type, size] = kind;
  if (body.length < count * size) throw new Error(`${path}: truncated (${body.length} bytes for ${count} values)`);
  // Copy into an aligned buffer: the body starts at an arbitrary offset.
  const copy = new Uint8Array(count * size);
  copy.set(body.subarray(0, count * size));
  return { shape, dtype: descr[1], data: new Type(copy.buffer) };
}

/** Writes float32 data as .npy format 1.0, padded as numpy.save pads it. */
function writeNpyFloat32(path, shape, data) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const f = Float32Array.from(data);
  fs.writeFileSync(path, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(f.buffer, f.byteOffset, f.byteLength)]));
}

module.exports = { readNpy, writeNpyFloat32 };
