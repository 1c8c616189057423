import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../util/index.js';

/**
 * A minimal reader of NumPy's .npy format (numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * the magic "\x93NUMPY", a version byte pair, the header length (u16 in version 1, u32 in 2 and 3),
 * a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, …)}, then the data,
 * C order. Little-endian (or byte-sized) numbers only; no object arrays.
 */

/** Element types lth reads: unsigned and signed integers, floats, booleans. */
const TYPES = {
  u1: Uint8Array,
  i1: Int8Array,
  b1: Uint8Array,
  u2: Uint16Array,
  i2: Int16Array,
  u4: Uint32Array,
  i4: Int32Array,
  u8: BigUint64Array,
  i8: BigInt64Array,
  f4: Float32Array,
  f8: Float64Array,
} as const;
export type NpyType = keyof typeof TYPES;

export interface NpyHeader {
  readonly dtype: NpyType;
  readonly shape: readonly number[];
  /** bytes before the data */
  readonly offset: number;
}

export interface NpyArray extends NpyHeader {
  /** the elements in C order, as numbers (64-bit integers converted; exact below 2^53) */
  readonly data: ArrayLike<number>;
  /** the raw bytes of the data, for uint8 arrays a view of them */
  readonly bytes: Uint8Array;
}

const MAGIC = '\x93NUMPY';

/** Parses the header of a .npy file's first bytes. `what` names the file in errors. */
export function parseNpyHeader(head: Uint8Array, what: string): NpyHeader {
  const bad = (why: string) => new UserError(`${what} is not a .npy file lth can read: ${why}; save it with numpy.save (C order, little-endian)`);
  if (head.length < 10 || Buffer.from(head.subarray(0, 6)).toString('latin1') !== MAGIC) throw bad('no .npy magic');
  const major = head[6];
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : head.length >= 12 ? view.getUint32(8, true) : -1;
  const start = major === 1 ? 10 : 12;
  if (![1, 2, 3].includes(major)) throw bad(`format version ${major}`);
  if (hlen < 0 || head.length < start + hlen) throw bad('truncated header');
  const dict = Buffer.from(head.subarray(start, start + hlen)).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr':\s*'([^']*)'/.exec(dict)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('header lacks descr, fortran_order or shape');
  if (fortran === 'True') throw bad('Fortran order (use numpy.ascontiguousarray before saving)');
  const m = /^([<>|=])([a-z]\d+)$/.exec(descr);
  if (!m || !(m[2] in TYPES)) throw bad(`element type '${descr}' (use uint8, float32, float64 or an integer type)`);
  if (m[1] === '>' && m[2] !== 'u1' && m[2] !== 'i1' && m[2] !== 'b1') throw bad(`big-endian element type '${descr}'`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`shape (${shapeText})`);
  return { dtype: m[2] as NpyType, shape, offset: start + hlen };
}

/** Reads only the header of the .npy file at `path` (for shapes before loading). */
export function readNpyHeader(path: string): NpyHeader {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(65536);
    const n = readSync(fd, head, 0, head.length, 0);
    return parseNpyHeader(head.subarray(0, n), path);
  } finally {
    closeSync(fd);
  }
}

/** Parses a whole .npy file. @throws UserError naming `what` when the data is shorter or longer than the shape says */
export function parseNpy(bytes: Uint8Array, what: string): NpyArray {
  const h = parseNpyHeader(bytes, what);
  const Type = TYPES[h.dtype];
  const count = h.shape.reduce((a, b) => a * b, 1);
  const size = count * Type.BYTES_PER_ELEMENT;
  if (bytes.length - h.offset !== size)
    throw new UserError(
      `${what}: the header's shape (${h.shape.join(', ')}) needs ${size} data bytes, the file has ${bytes.length - h.offset}; save it again with numpy.save`,
    );
  // typed arrays need an aligned start: copy the data when it has none
  let data = bytes.subarray(h.offset);
  if (data.byteOffset % Type.BYTES_PER_ELEMENT !== 0) data = data.slice();
  const typed = new Type(data.buffer as ArrayBuffer, data.byteOffset, count);
  const numbers = typed instanceof BigInt64Array || typed instanceof BigUint64Array ? Float64Array.from(typed, Number) : typed;
  return { ...h, data: numbers, bytes: data };
}

/** The bytes numpy.save writes for a C-order uint8 array of `shape` (format 1.0, header padded to 64 bytes). */
export function npyUint8(data: Uint8Array, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const head = Buffer.alloc(total, 0x20);
  head.write(MAGIC, 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(total - 10, 8);
  head.write(dict, 10, 'latin1');
  head[total - 1] = 0x0a;
  return new Uint8Array(Buffer.concat([head, data]));
}
