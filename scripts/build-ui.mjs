#!/usr/bin/env node
// Builds the dashboard's front end (src/ui/client) into dist/ui: one bundle with vega-embed,
// Vega and Vega-Lite inside, so `lth ui` needs no CDN and no network at run time.
// A bundle newer than every file it was built from (esbuild's metafile lists them, node_modules
// included) is left as it is, so `npm run build` right after a build does nothing here.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src/ui/client');
const out = join(root, 'dist/ui');
const copied = ['index.html', 'app.css'];
const metaFile = join(out, 'build-inputs.json');
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : Infinity);

function upToDate() {
  if (!existsSync(metaFile)) return false;
  const built = Math.min(...['app.js', ...copied].map((f) => (existsSync(join(out, f)) ? statSync(join(out, f)).mtimeMs : -Infinity)));
  const inputs = [
    ...Object.keys(JSON.parse(readFileSync(metaFile, 'utf8')).inputs).map((f) => join(root, f)),
    ...copied.map((f) => join(src, f)),
    fileURLToPath(import.meta.url),
  ];
  return inputs.every((f) => mtime(f) < built);
}

if (!upToDate()) {
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: [join(src, 'app.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    absWorkingDir: root,
  });
  for (const f of copied) copyFileSync(join(src, f), join(out, f));
  writeFileSync(metaFile, JSON.stringify({ inputs: result.metafile.inputs }));
}
