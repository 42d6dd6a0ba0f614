// The IDX format (MNIST, Fashion-MNIST): parse big-endian n-dimensional arrays, gzip or not; and write them.

import { gunzip, isGzip } from './gzip';
import { ShadergradError } from '../errors';

export type IdxDType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  /** Row-major, native byte order. u8 data is a view of the (decompressed) input: copy it before changing the input. */
  data: IdxData;
}

const TYPES: Record<number, { dtype: IdxDType; bytes: number }> = {
  0x08: { dtype: 'u8', bytes: 1 },
  0x09: { dtype: 'i8', bytes: 1 },
  0x0b: { dtype: 'i16', bytes: 2 },
  0x0c: { dtype: 'i32', bytes: 4 },
  0x0d: { dtype: 'f32', bytes: 4 },
  0x0e: { dtype: 'f64', bytes: 8 },
};
const CODES: Record<IdxDType, number> = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e };

function toBytes(input: Uint8Array | ArrayBuffer, op: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  throw new ShadergradError(op, `expected a Uint8Array or an ArrayBuffer, got ${Object.prototype.toString.call(input)}`);
}

/**
 * Parses an IDX file: magic 00 00, a type byte (08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64), a
 * rank byte, the dimensions as big-endian u32, then the big-endian data. Gzip input (1f 8b) is
 * decompressed first.
 */
export async function loadIdx(input: Uint8Array | ArrayBuffer): Promise<IdxArray> {
  let bytes = toBytes(input, 'loadIdx');
  if (isGzip(bytes)) bytes = await gunzip(bytes, 'loadIdx');
  return parseIdx(bytes);
}

/** loadIdx for data that is not compressed (synchronous). */
export function parseIdx(input: Uint8Array | ArrayBuffer): IdxArray {
  const bytes = toBytes(input, 'loadIdx');
  if (bytes.length < 4) throw new ShadergradError('loadIdx', `${bytes.length} bytes is too short for an IDX header (4 bytes at least)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ShadergradError('loadIdx', `bad magic: an IDX file starts with 00 00, this one with ${head}`);
  }
  const type = TYPES[bytes[2]!];
  if (!type) {
    throw new ShadergradError('loadIdx', `unknown type byte 0x${bytes[2]!.toString(16).padStart(2, '0')} (known: 08 u8, 09 i8, 0b i16, 0c i32, 0d f32, 0e f64)`);
  }
  const rank = bytes[3]!;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new ShadergradError('loadIdx', `truncated header: rank ${rank} needs ${headerBytes} header bytes, the data has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const dataBytes = bytes.length - headerBytes;
  const want = count * type.bytes;
  if (dataBytes < want) {
    throw new ShadergradError(
      'loadIdx',
      `truncated data: shape [${shape.join(', ')}] of ${type.dtype} needs ${want} bytes after the ${headerBytes}-byte header, found ${dataBytes}`,
    );
  }
  if (dataBytes > want) {
    throw new ShadergradError(
      'loadIdx',
      `the dimensions [${shape.join(', ')}] of ${type.dtype} (${want} bytes) do not match the ${dataBytes} data bytes after the header`,
    );
  }
  const body = bytes.subarray(headerBytes);
  return { dtype: type.dtype, shape, data: decode(type.dtype, body, count) };
}

function decode(dtype: IdxDType, body: Uint8Array, count: number): IdxData {
  if (dtype === 'u8') return body;
  if (dtype === 'i8') return new Int8Array(body.buffer, body.byteOffset, count);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (dtype) {
    case 'i16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case 'i32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case 'f32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    case 'f64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}

/** Writes an IDX file (uncompressed): the inverse of parseIdx. */
export function encodeIdx(dtype: IdxDType, shape: readonly number[], data: ArrayLike<number>): Uint8Array {
  const code = Object.hasOwn(CODES, dtype) ? CODES[dtype] : undefined;
  if (code === undefined) throw new ShadergradError('encodeIdx', `unknown dtype ${String(dtype)}`);
  if (shape.length > 255) throw new ShadergradError('encodeIdx', `rank ${shape.length} is more than IDX's 255`);
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new ShadergradError('encodeIdx', `bad dimension ${d} in [${shape.join(', ')}]`);
    count *= d;
  }
  if (data.length !== count) throw new ShadergradError('encodeIdx', `${data.length} values for shape [${shape.join(', ')}] (${count})`);
  const size = TYPES[code]!.bytes;
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const ranges: Partial<Record<IdxDType, [number, number]>> = { u8: [0, 255], i8: [-128, 127], i16: [-32768, 32767], i32: [-(2 ** 31), 2 ** 31 - 1] };
  const range = ranges[dtype];
  for (let i = 0; i < count; i++) {
    const v = data[i]!;
    // Integers that would wrap (256 as u8 is 0) are refused, not written.
    if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
      throw new ShadergradError('encodeIdx', `${v} at index ${i} is not a ${dtype} value (${range[0]}..${range[1]})`);
    }
    const at = header + i * size;
    if (dtype === 'u8') view.setUint8(at, v);
    else if (dtype === 'i8') view.setInt8(at, v);
    else if (dtype === 'i16') view.setInt16(at, v, false);
    else if (dtype === 'i32') view.setInt32(at, v, false);
    else if (dtype === 'f32') view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  }
  return out;
}
