// Checkpoints as safetensors files (Hugging Face's format, read by numpy/PyTorch users): pure encode/decode, and GPU save/load that validates before writing.

import type { Engine } from '../engine/engine';
import type { Tensor } from '../tensor';
import { ShadergradError } from '../errors';

/** The safetensors dtypes (whole-byte ones) and their element sizes. */
const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDType = keyof typeof DTYPE_BYTES;

/** The official writer's order: bigger dtypes first (its enum order), then by name. */
const DTYPE_RANK: Record<SafetensorsDType, number> = {
  BOOL: 0, U8: 1, I8: 2, F8_E5M2: 3, F8_E4M3: 4, I16: 5, U16: 6, F16: 7, BF16: 8, I32: 9, U32: 10, F32: 11, F64: 12, I64: 13, U64: 14,
};

/** Largest header the reference implementation accepts (it refuses more, to bound memory). */
const MAX_HEADER_BYTES = 100_000_000;

/** A host tensor to encode: its data and shape (a bare typed array is 1-D). */
export interface HostTensor {
  data: Float32Array | Int32Array;
  shape: readonly number[];
}

export type DecodedTensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  /** Other dtypes come back as their raw little-endian bytes. */
  | { dtype: Exclude<SafetensorsDType, 'F32' | 'I32'>; shape: number[]; data: Uint8Array };

export interface DecodedSafetensors {
  /** By name, in the header's order (JavaScript puts integer-like names such as "1" first, ascending). */
  tensors: Record<string, DecodedTensor>;
  /** The header's `__metadata__` (empty when absent). */
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function fail(op: string, message: string): never {
  throw new ShadergradError(op, message);
}

function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Sets a property even when the name is "__proto__" (names come from files). */
function define<T>(record: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}

/** An object literal (or a null-prototype object): a Map, an array or a typed array would be read as holding nothing. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A lone UTF-16 surrogate: not encodable as UTF-8, so other safetensors readers refuse the header. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(op: string, what: string, text: string): void {
  if (LONE_SURROGATE.test(text)) fail(op, `${what} ${JSON.stringify(text)} holds a lone UTF-16 surrogate, which UTF-8 cannot encode`);
}

function checkMetadata(op: string, metadata: unknown): Record<string, string> {
  if (metadata === undefined || metadata === null) return {};
  if (!isPlainObject(metadata)) fail(op, `__metadata__ must be an object of strings, got ${JSON.stringify(metadata)}`);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      fail(op, `__metadata__.${key} must be a string (JSON.stringify other values), got ${typeof value}`);
    }
    checkText(op, '__metadata__ key', key);
    checkText(op, `__metadata__.${key}`, value);
  }
  return { ...(metadata as Record<string, string>) };
}

/** UTF-8 byte order, as the reference implementation sorts names. */
function compareUtf8(a: string, b: string): number {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) if (ea[i] !== eb[i]) return ea[i]! - eb[i]!;
  return ea.length - eb.length;
}

/** The little-endian bytes of a 4-byte typed array. */
function littleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(4 * i, data[i]!, true);
    else view.setInt32(4 * i, data[i]!, true);
  }
  return out;
}

/**
 * Encodes named f32/i32 tensors as a safetensors file: an 8-byte little-endian header length N, N
 * bytes of JSON (`__metadata__` first, then each tensor's dtype, shape and data_offsets; padded with
 * spaces to a multiple of 8), then the tensors' little-endian data, laid out as the reference
 * writer does (F32 before I32, then by name).
 */
export function encodeSafetensors(
  record: Record<string, HostTensor | Float32Array | Int32Array>,
  metadata?: Record<string, string>,
): Uint8Array {
  const op = 'encodeSafetensors';
  if (!isPlainObject(record)) fail(op, 'expected an object of named tensors');
  const meta = checkMetadata(op, metadata);
  const entries = Object.entries(record).map(([name, value]) => {
    if (name === '__metadata__') fail(op, "'__metadata__' is reserved for the metadata, not a tensor name");
    checkText(op, 'tensor name', name);
    const t: HostTensor = value instanceof Float32Array || value instanceof Int32Array ? { data: value, shape: [value.length] } : value;
    if (!t || !(t.data instanceof Float32Array || t.data instanceof Int32Array)) {
      fail(op, `${name}: data must be a Float32Array or an Int32Array`);
    }
    const shape = Array.from(t.shape ?? []);
    if (!Array.isArray(t.shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(op, `${name}: shape must be a list of non-negative integers, got [${String(t.shape)}]`);
    }
    if (shapeSize(shape) !== t.data.length) {
      fail(op, `${name}: ${t.data.length} values do not fill shape [${shape.join(', ')}] (${shapeSize(shape)})`);
    }
    const dtype: SafetensorsDType = t.data instanceof Float32Array ? 'F32' : 'I32';
    return { name, dtype, shape, bytes: littleEndianBytes(t.data) };
  });
  entries.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareUtf8(a.name, b.name));
  // Written by hand: JSON.stringify would move integer-like names ("0") ahead of the others.
  const parts: string[] = [];
  if (Object.keys(meta).length) {
    const fields = Object.entries(meta).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const e of entries) {
    const info = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`);
    offset += e.bytes.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerBytes + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerBytes / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes);
  let at = 8 + headerBytes;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and checks the header; every problem is found before any data is touched. */
function parseHeader(op: string, bytes: Uint8Array): { entries: HeaderEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) fail(op, `the file is ${bytes.length} bytes, too short for safetensors' 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerBytes > bytes.length - 8) {
    fail(op, `the header length ${headerBytes} runs past the end of the ${bytes.length}-byte file (not a safetensors file, or truncated)`);
  }
  if (headerBytes > MAX_HEADER_BYTES) fail(op, `the header length ${headerBytes} is more than ${MAX_HEADER_BYTES} bytes`);
  if (headerBytes < 2 || bytes[8] !== 0x7b /* { */) fail(op, 'the header does not start with "{" (not a safetensors file?)');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    fail(op, 'the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail(op, `the header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) fail(op, 'the header must be a JSON object');
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.length - dataStart;
  const metadata = checkMetadata(op, header.__metadata__);
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isPlainObject(info)) fail(op, `${name}: expected { dtype, shape, data_offsets }, got ${JSON.stringify(info)}`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
      fail(op, `${name}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(op, `${name}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || o < 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(op, `${name}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) fail(op, `${name}: data_offsets [${begin}, ${end}] run past the ${dataBytes} data bytes (truncated file?)`);
    const want = shapeSize(shape as number[]) * DTYPE_BYTES[dtype as SafetensorsDType];
    if (end - begin !== want) {
      fail(op, `${name}: ${dtype} [${(shape as number[]).join(', ')}] takes ${want} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end });
  }
  // The tensors must tile the data exactly: no overlap, no gap, nothing after the last.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | null = null;
  for (const e of byOffset) {
    if (e.begin < covered) fail(op, `${e.name}: data_offsets [${e.begin}, ${e.end}] overlap ${previous!.name} [${previous!.begin}, ${previous!.end}]`);
    if (e.begin > covered) fail(op, `${e.name}: data_offsets [${e.begin}, ${e.end}] leave bytes ${covered}–${e.begin} unused (the tensors must be contiguous)`);
    covered = e.end;
    previous = e;
  }
  if (covered !== dataBytes) fail(op, `the tensors cover ${covered} data bytes but the file holds ${dataBytes}`);
  return { entries, metadata, dataStart };
}

function readTensor(bytes: Uint8Array, dataStart: number, e: HeaderEntry): DecodedTensor {
  const raw = bytes.slice(dataStart + e.begin, dataStart + e.end);
  if (e.dtype === 'F32' || e.dtype === 'I32') {
    const count = raw.length / 4;
    let data: Float32Array | Int32Array = e.dtype === 'F32' ? new Float32Array(raw.buffer, 0, count) : new Int32Array(raw.buffer, 0, count);
    if (!LITTLE_ENDIAN) {
      const view = new DataView(raw.buffer);
      data = e.dtype === 'F32' ? Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true)) : Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
    }
    return { dtype: e.dtype, shape: e.shape, data } as DecodedTensor;
  }
  return { dtype: e.dtype, shape: e.shape, data: raw } as DecodedTensor;
}

function toBytes(op: string, input: Uint8Array | ArrayBuffer): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  fail(op, `expected a Uint8Array or an ArrayBuffer, got ${Object.prototype.toString.call(input)}`);
}

/**
 * Decodes a safetensors file after checking all of it: the header length, UTF-8 JSON, known dtypes,
 * shapes, data_offsets inside the data and tiling it exactly. F32 and I32 tensors come back as typed
 * arrays (copies), other dtypes as their raw bytes.
 */
export function decodeSafetensors(input: Uint8Array | ArrayBuffer): DecodedSafetensors {
  const bytes = toBytes('decodeSafetensors', input);
  const { entries, metadata, dataStart } = parseHeader('decodeSafetensors', bytes);
  const tensors: Record<string, DecodedTensor> = {};
  for (const e of entries) define(tensors, e.name, readTensor(bytes, dataStart, e));
  return { tensors, metadata };
}

/** Reads GPU tensors back and encodes them as a safetensors file (8-bit dataset tensors are saved as F32). */
export async function saveCheckpoint(engine: Engine, tensors: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const op = 'saveCheckpoint';
  if (!isPlainObject(tensors)) fail(op, 'expected an object of named tensors');
  checkMetadata(op, metadata);
  for (const [name, t] of Object.entries(tensors)) {
    if (!t || typeof (t as Tensor).read !== 'function') fail(op, `${name} is not a Tensor`);
    if (t.engine !== engine) fail(op, `${name} belongs to another Engine`);
    if (t.disposed) fail(op, `${name} (shape [${t.shape.join(', ')}]) was disposed`);
    if (name === '__metadata__') fail(op, "'__metadata__' is reserved for the metadata, not a tensor name");
    checkText(op, 'tensor name', name);
  }
  // Null prototype: a tensor named "__proto__" is an entry like any other.
  const record: Record<string, HostTensor> = Object.create(null);
  for (const [name, t] of Object.entries(tensors)) define(record, name, { data: await t.read(), shape: t.shape });
  return encodeSafetensors(record, metadata);
}

export interface LoadCheckpointOptions {
  /**
   * true (default): the file's tensors and `into`'s must be the same names. false: load the names
   * both have and report the others as `missing` (in `into`, not in the file) and `unexpected`.
   */
  strict?: boolean;
}

export interface LoadedCheckpoint {
  /** `into`'s tensors (written in place), or new tensors made from the file. */
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
  /** Names in `into` that the file lacks (non-strict loads). */
  missing: string[];
  /** Names in the file that `into` lacks (non-strict loads; not loaded). */
  unexpected: string[];
}

/**
 * Loads a safetensors file onto the GPU. With `into`, its tensors are overwritten in place, after
 * every check has passed (the file's format, then each name, dtype and shape against `into`): a
 * corrupt or mismatched file throws and changes nothing. Without `into`, new tensors are made.
 */
export function loadCheckpoint(
  engine: Engine,
  input: Uint8Array | ArrayBuffer,
  into?: Record<string, Tensor>,
  options: LoadCheckpointOptions = {},
): LoadedCheckpoint {
  const op = 'loadCheckpoint';
  const strict = options.strict ?? true;
  const bytes = toBytes(op, input);
  const { entries, metadata, dataStart } = parseHeader(op, bytes);
  const problems: string[] = [];
  for (const e of entries) {
    // A non-strict load into named tensors skips the file's other tensors, whatever their dtype.
    if (into && !strict && isPlainObject(into) && !Object.hasOwn(into, e.name)) continue;
    if (e.dtype !== 'F32' && e.dtype !== 'I32') problems.push(`${e.name}: ${e.dtype} tensors cannot be loaded (F32 and I32 only)`);
  }
  const fileNames = new Set(entries.map((e) => e.name));
  let missing: string[] = [];
  let unexpected: string[] = [];
  if (into) {
    if (!isPlainObject(into)) fail(op, '`into` must be an object of named tensors');
    missing = Object.keys(into).filter((name) => !fileNames.has(name));
    unexpected = entries.map((e) => e.name).filter((name) => !Object.hasOwn(into, name));
    if (strict) {
      for (const name of missing) problems.push(`${name}: missing from the file`);
      for (const name of unexpected) problems.push(`${name}: in the file but not among the tensors to load into`);
    }
    for (const e of entries) {
      if (!Object.hasOwn(into, e.name)) continue;
      const t = into[e.name]!;
      const want = e.dtype === 'F32' ? 'f32' : 'i32';
      if (!t || typeof (t as Tensor).read !== 'function') problems.push(`${e.name}: the target is not a Tensor`);
      else if (t.engine !== engine) problems.push(`${e.name}: the target belongs to another Engine`);
      else if (t.disposed) problems.push(`${e.name}: the target (shape [${t.shape.join(', ')}]) was disposed`);
      else if (t.format !== 'native') problems.push(`${e.name}: the target holds packed 8-bit data and cannot be written`);
      else if (t.dtype !== want) problems.push(`${e.name}: ${e.dtype} in the file, ${t.dtype} in the target`);
      else if (t.shape.join() !== e.shape.join() || t.shape.length !== e.shape.length) {
        problems.push(`${e.name}: shape [${e.shape.join(', ')}] in the file, [${t.shape.join(', ')}] in the target`);
      }
    }
  }
  if (problems.length) {
    const shown = problems.slice(0, 8).join('; ');
    fail(op, `the checkpoint does not match, nothing was loaded: ${shown}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
  }
  engine.check();
  const tensors: Record<string, Tensor> = {};
  if (into) {
    for (const e of entries) {
      if (!Object.hasOwn(into, e.name)) continue;
      const t = into[e.name]!;
      const { data } = readTensor(bytes, dataStart, e);
      if (data.length) engine.writeBuffer(t.storage, data, t.byteOffset);
    }
    for (const [name, t] of Object.entries(into)) if (fileNames.has(name)) define(tensors, name, t);
  } else {
    try {
      for (const e of entries) {
        const { data, shape } = readTensor(bytes, dataStart, e);
        define(tensors, e.name, engine.tensor(data as Float32Array | Int32Array, shape));
      }
    } catch (error) {
      for (const t of Object.values(tensors)) t.dispose();
      throw error;
    }
  }
  return { tensors, metadata, missing, unexpected };
}
