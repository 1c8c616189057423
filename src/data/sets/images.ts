import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { z } from 'zod';
import { UserError, makeRng, permutation } from '../../util/index.js';
import type { DatasetDef, DatasetMeta } from '../def.js';
import { trainingStats, type RawSplit } from '../splits.js';

const fields = {
  path: z.string().min(1).describe('folder with train/<class>/*.png|jpg and test/<class>/* (torchvision ImageFolder; relative to the working folder)'),
  resize: z
    .tuple([z.number().int().positive(), z.number().int().positive()])
    .optional()
    .describe('[h, w]: resize every image (bilinear); without it all images must have one size'),
  order: z
    .enum(['shuffled', 'name'])
    .default('shuffled')
    .describe(
      'order of the examples in each split: shuffled = a fixed permutation of the training images (the same for every seed), so the validation split (the last examples) holds every class; name = sorted by file name across classes (keeps an order the file names encode, e.g. 00001.png …)',
    ),
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
    .optional()
    .describe("sha256 of the images' content and class folders, filled in when the spec loads (give it to pin the data); enters the identity instead of path"),
};
type ImagesSpec = { path: string; resize?: [number, number] };

const SPLITS = ['train', 'test'] as const;
const IMAGE = /\.(png|jpe?g)$/i;

interface Entry {
  readonly split: (typeof SPLITS)[number];
  readonly cls: number;
  /** `<class>/<file>`, for the digest */
  readonly rel: string;
  readonly file: string;
}

/** Every image file, classes = the training class folders sorted. @throws UserError naming what is wrong with the layout */
function list(dir: string): { classes: string[]; entries: Entry[] } {
  const abs = resolve(dir);
  const sub = (p: string) => readdirSync(p).filter((n) => !n.startsWith('.') && statSync(join(p, n)).isDirectory());
  for (const s of SPLITS)
    if (!existsSync(join(abs, s)) || !statSync(join(abs, s)).isDirectory())
      throw new UserError(`data.path ${dir} has no ${s}/ folder; lay the images out as ${dir}/train/<class>/*.png and ${dir}/test/<class>/*.png`);
  const classes = sub(join(abs, 'train')).sort();
  if (classes.length < 2)
    throw new UserError(`${join(abs, 'train')} has ${classes.length} class folder${classes.length === 1 ? '' : 's'}; give one folder per class, at least two`);
  const entries: Entry[] = [];
  for (const split of SPLITS) {
    for (const c of sub(join(abs, split)).sort()) {
      const cls = classes.indexOf(c);
      if (cls < 0) throw new UserError(`${join(abs, split, c)}: class "${c}" has no folder in ${join(abs, 'train')}; add it there or remove it`);
      for (const f of readdirSync(join(abs, split, c))
        .filter((n) => IMAGE.test(n))
        .sort())
        entries.push({ split, cls, rel: `${c}/${f}`, file: join(abs, split, c, f) });
    }
    if (!entries.some((e) => e.split === split)) throw new UserError(`${join(abs, split)} holds no .png or .jpg images`);
  }
  return { classes, entries };
}

/** Width, height and whether it is grey, from a PNG's IHDR or a JPEG's frame header. @throws UserError naming the file */
function header(bytes: Uint8Array, file: string): { w: number; h: number; grey: boolean } {
  const bad = (why: string) => new UserError(`corrupt image ${file}: ${why}; replace or remove it`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 26 && v.getUint32(0) === 0x89504e47) return { w: v.getUint32(16), h: v.getUint32(20), grey: bytes[25] === 0 || bytes[25] === 4 };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let i = 2; i + 9 < bytes.length;) {
      if (bytes[i] !== 0xff) throw bad('no JPEG frame header');
      const m = bytes[i + 1];
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { h: v.getUint16(i + 5), w: v.getUint16(i + 7), grey: bytes[i + 9] === 1 };
      i += 2 + v.getUint16(i + 2);
    }
    throw bad('no JPEG frame header');
  }
  throw bad('neither PNG nor JPEG');
}

/** RGB or grey bytes of one image, h × w × channels. @throws UserError naming the file when it does not decode */
function decode(bytes: Uint8Array, file: string, channels: number): { w: number; h: number; px: Uint8Array } {
  let w: number;
  let h: number;
  let rgba: Uint8Array;
  let step = 4;
  try {
    if (/\.png$/i.test(file)) {
      const p = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width: w, height: h } = p);
      rgba = p.data;
    } else {
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
      ({ width: w, height: h } = j);
      rgba = j.data;
      step = 3;
    }
  } catch (e) {
    throw new UserError(`corrupt image ${file}: ${(e as Error).message.split('\n')[0]}; replace or remove it`);
  }
  const px = new Uint8Array(w * h * channels);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < channels; c++) px[i * channels + c] = rgba[i * step + c];
  return { w, h, px };
}

/** Bilinear resize of h × w × c bytes to th × tw (pixel centres aligned, as torchvision's default). */
function resizeBilinear(px: Uint8Array, h: number, w: number, c: number, th: number, tw: number): Uint8Array {
  const out = new Uint8Array(th * tw * c);
  for (let y = 0; y < th; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / th - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < tw; x++) {
      const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / tw - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => px[(yy * w + xx) * c + k];
        const top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
        const bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
        out[(y * tw + x) * c + k] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

/**
 * Shapes and counts from the image headers: one size for all (else an error naming two files
 * that differ, unless `resize`), grey (1 channel) when every image is grey, else RGB (3).
 */
function metaOf(spec: ImagesSpec): DatasetMeta & { classes: string[]; entries: Entry[]; size: [number, number] } {
  const { classes, entries } = list(spec.path);
  let first: { w: number; h: number; file: string } | null = null;
  let grey = true;
  for (const e of entries) {
    const fd = readFileSync(e.file);
    const hd = header(fd, e.file);
    grey &&= hd.grey;
    if (!first) first = { ...hd, file: e.file };
    else if (!spec.resize && (hd.w !== first.w || hd.h !== first.h))
      throw new UserError(`${e.file} is ${hd.h}×${hd.w} but ${first.file} is ${first.h}×${first.w}; give data.resize [h, w] or make all images one size`);
  }
  const [h, w] = spec.resize ?? [first!.h, first!.w];
  const channels = grey ? 1 : 3;
  const count = (s: string) => entries.filter((e) => e.split === s).length;
  return {
    name: 'images',
    inputShape: [h, w, channels],
    channels,
    numClasses: classes.length,
    trainN: count('train'),
    testN: count('test'),
    classes,
    entries,
    size: [h, w],
  };
}

/** Positions of `es` sorted by file name, then class. */
const byName = (es: readonly Entry[]): number[] =>
  es
    .map((_, i) => i)
    .sort((a, b) => {
      const [fa, fb] = [es[a].rel.split('/')[1], es[b].rel.split('/')[1]];
      return fa < fb ? -1 : fa > fb ? 1 : es[a].cls - es[b].cls;
    });

/** sha256 over every image's split, class folder, file name and bytes, in listing order: the content wherever the folder is. */
function digestOf(entries: readonly Entry[], read: (e: Entry) => Uint8Array): string {
  const h = createHash('sha256');
  for (const e of entries) {
    const b = read(e);
    h.update(`${e.split}/${e.rel}\0${b.length}\0`).update(b);
  }
  return h.digest('hex');
}

/**
 * A folder of images in torchvision's ImageFolder layout: DIR/train/<class>/*.png|jpg and
 * DIR/test/<class>/*. Classes are the training class folders, sorted (label = index). Grey
 * images give [h, w, 1], colour [h, w, 3] (alpha dropped; grey images in a colour set are
 * repeated over RGB). Example order: `order` (by default the training images in a fixed shuffled
 * order, the same for every seed, so that the validation split, the last examples, holds every class).
 * Normalize "dataset" = per-channel mean and std of the training examples.
 */
export const images: DatasetDef<'images', typeof fields> = {
  name: 'images',
  help: 'your own images: data.path = a folder with train/<class>/*.png|jpg and test/<class>/* (torchvision ImageFolder); optional resize [h, w]',
  fields,
  meta: (spec) => metaOf(spec),
  load(spec) {
    const m = metaOf(spec);
    const bytes = new Map(m.entries.map((e) => [e, new Uint8Array(readFileSync(e.file))]));
    const now = digestOf(m.entries, (e) => bytes.get(e)!);
    if (spec.digest && now !== spec.digest)
      throw new UserError(`the images in ${spec.path} changed since the spec was read (sha256 ${now}, was ${spec.digest}); run again`);
    const [h, w] = m.size;
    const per = h * w * m.channels;
    const split = (s: (typeof SPLITS)[number], order: (es: readonly Entry[]) => ArrayLike<number>): RawSplit => {
      const es = m.entries.filter((e) => e.split === s);
      const idx = order(es);
      const x = new Uint8Array(es.length * per);
      const y = new Uint8Array(es.length);
      for (let i = 0; i < es.length; i++) {
        const e = es[idx[i]];
        const d = decode(bytes.get(e)!, e.file, m.channels);
        x.set(d.w === w && d.h === h ? d.px : resizeBilinear(d.px, d.h, d.w, m.channels, h, w), i * per);
        y[i] = e.cls;
      }
      return { x, y, n: es.length };
    };
    return Promise.resolve({
      name: 'images',
      inputShape: m.inputShape,
      channels: m.channels,
      numClasses: m.numClasses,
      train: split('train', spec.order === 'shuffled' ? (es) => permutation(es.length, makeRng('data', 'images', 'order')) : byName),
      test: split('test', spec.order === 'shuffled' ? (es) => es.map((_, i) => i) : byName),
      source: `${resolve(spec.path)} (${m.classes.length} classes: ${m.classes.join(', ')}; sha256 ${now})`,
    });
  },
  stats: (raw, spec) => trainingStats(raw, spec.validation),
  cacheSource: (spec) => spec.digest ?? null,
  digest: (spec) => digestOf(list(spec.path).entries, (e) => new Uint8Array(readFileSync(e.file))),
  identity: ({ path, ...rest }) => (void path, rest),
};
