#!/usr/bin/env node
// Builds the dashboard's front end (src/ui/client) into dist/ui: one bundle with vega-embed,
// Vega and Vega-Lite inside, so `lth ui` needs no CDN and no network at run time.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src/ui/client');
const out = join(root, 'dist/ui');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(src, 'app.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) copyFileSync(join(src, f), join(out, f));
