/** A small, strict PNG decoder for tests (8-bit RGB / RGBA / gray, non-interlaced): checks the
 *  signature and every chunk CRC, inflates IDAT, undoes the filters. Throws on anything malformed. */
import zlib from 'node:zlib';

export interface DecodedPng {
  width: number;
  height: number;
  channels: number;
  /** width × height × channels bytes */
  pixels: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodePng(buf: Buffer): DecodedPng {
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (bad signature)');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    const crc = buf.readUInt32BE(off + 8 + len);
    if (zlib.crc32(buf.subarray(off + 4, off + 8 + len)) !== crc) throw new Error(`bad CRC in ${type} chunk`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const colorType = data[9];
      if (depth !== 8 || data[12] !== 0) throw new Error(`unsupported PNG: depth ${depth}, interlace ${data[12]}`);
      channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colorType] ?? 0;
      if (!channels) throw new Error(`unsupported color type ${colorType}`);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    off += 12 + len;
  }
  if (!ended || !width) throw new Error('truncated PNG');
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`IDAT holds ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[y * stride + x - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (f !== 0) throw new Error(`bad filter ${f}`);
      px[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels: px };
}

/** Pixels within `tol` of an RGB colour. */
export function countColor(img: DecodedPng, rgb: [number, number, number], tol = 12): number {
  let n = 0;
  for (let i = 0; i + 2 < img.pixels.length; i += img.channels) {
    if (Math.abs(img.pixels[i] - rgb[0]) <= tol && Math.abs(img.pixels[i + 1] - rgb[1]) <= tol && Math.abs(img.pixels[i + 2] - rgb[2]) <= tol) n++;
  }
  return n;
}

/** Pixels darker than `level` on every channel (text, axes). */
export function countDark(img: DecodedPng, level = 80, region?: { x0: number; y0: number; x1: number; y1: number }): number {
  let n = 0;
  const r = region ?? { x0: 0, y0: 0, x1: img.width, y1: img.height };
  for (let y = r.y0; y < r.y1; y++)
    for (let x = r.x0; x < r.x1; x++) {
      const i = (y * img.width + x) * img.channels;
      if (img.pixels[i] < level && img.pixels[i + 1] < level && img.pixels[i + 2] < level) n++;
    }
  return n;
}
