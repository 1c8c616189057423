import { tf } from '../util/tf.js';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, nativeThreads } from './native.js';
import { AUTO_ORDER, backendFailure, backendLabel, initBackend } from './init.js';
import { checkWasmInternals } from './internals.js';
import { wasmThreadsInUse } from './wasm-threads.js';
import { noAdapterAdvice, webgpuAdapter, type WebgpuAdapterInfo } from './webgpu.js';
import type { BackendName } from './names.js';

/**
 * `lth doctor`: which backends load on this machine, on what device, and for each failure the
 * reason and the fix. Each backend is loaded and made to compute a small product (read back
 * asynchronously), so "loads" means "computes", not only "imports".
 */

const require = createRequire(import.meta.url);

export interface LibCheck {
  /** the soname the package was linked against, e.g. libcudart.so.11.0 */
  needed: string;
  /** where the dynamic loader would find it, or null */
  found: string | null;
  /** other versions of the same library that are present (e.g. libcudart.so.12): not usable */
  others: string[];
}

export interface DoctorRow {
  backend: BackendName;
  /** the npm package that provides it, with its installed version */
  package: string;
  loads: boolean;
  /** what it computes on: "webgpu:NVIDIA H200", "webgpu:llvmpipe (software)", "CPU (XNNPACK, 2 threads)" … */
  device: string | null;
  /** why it does not load / what is wrong */
  problem: string | null;
  fix: string | null;
  /** loud: e.g. a GPU package that runs on the CPU */
  warning: string | null;
  /** tfjs-node-gpu: the CUDA and cuDNN libraries it needs against those found */
  libraries?: LibCheck[];
}

export interface DoctorReport {
  rows: DoctorRow[];
  /** what `--backend auto` picks here */
  auto: BackendName | null;
  warnings: string[];
}

/** The CUDA 11.2 / cuDNN 8.1 sonames libtensorflow 2.9 (inside tfjs-node-gpu 4.22) is linked against. */
export const CUDA_NEEDED = ['libcudart.so.11.0', 'libcudnn.so.8'] as const;

const version = (pkg: string): string | null => {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
};
const pkgLabel = (pkg: string): string => `${pkg}@${version(pkg) ?? '(not installed)'}`;

/** Library directories the dynamic loader searches: LD_LIBRARY_PATH, then ldconfig's cache. */
function loaderLibraries(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
    try {
      for (const f of readdirSync(dir)) if (!out.has(f)) out.set(f, path.join(dir, f));
    } catch {
      /* a missing directory in LD_LIBRARY_PATH */
    }
  }
  try {
    const text = execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const m of text.matchAll(/^\s*(\S+) \(([^)]*)\) => (\S+)/gm)) if (!m[2].includes('32') && !out.has(m[1])) out.set(m[1], m[3]);
  } catch {
    /* no ldconfig (not glibc): only LD_LIBRARY_PATH counts */
  }
  return out;
}

/**
 * For each needed soname, where the loader finds it and which other versions are present.
 * `libs` maps file names to paths (default: this machine's loader search path).
 */
export function checkLibraries(needed: readonly string[], libs: Map<string, string> = loaderLibraries()): LibCheck[] {
  return needed.map((soname) => {
    const stem = soname.split('.so')[0];
    const others = [...libs.keys()].filter((f) => f.startsWith(`${stem}.so`) && f !== soname && f !== `${stem}.so`).sort();
    return { needed: soname, found: libs.get(soname) ?? null, others };
  });
}

/** A tiny product on the current backend, read back asynchronously: whether it really computes. */
async function computes(): Promise<string | null> {
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const b = tf.matMul(a, a);
  try {
    const v = await b.data();
    return [7, 10, 15, 22].every((x, i) => v[i] === x) ? null : `computes wrong numbers ([[1,2],[3,4]]² gave ${Array.from(v)})`;
  } catch (e) {
    return `fails to compute: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`;
  } finally {
    tf.dispose([a, b]);
  }
}

async function load(name: BackendName): Promise<string | null> {
  try {
    await initBackend(name);
  } catch (e) {
    return backendFailure(name) ?? String(e instanceof Error ? e.message : e).split('\n')[0];
  }
  return computes();
}

async function cpuRow(): Promise<DoctorRow> {
  const problem = await load('cpu');
  return {
    backend: 'cpu',
    package: pkgLabel('@tensorflow/tfjs-backend-cpu'),
    loads: problem == null,
    device: 'CPU (JavaScript, 1 thread)',
    problem,
    fix: problem ? 'reinstall: npm ci' : null,
    warning: null,
  };
}

async function wasmRow(): Promise<DoctorRow> {
  const problem = await load('wasm');
  const row: DoctorRow = {
    backend: 'wasm',
    package: pkgLabel('@tensorflow/tfjs-backend-wasm'),
    loads: problem == null,
    device: null,
    problem,
    fix: problem ? 'reinstall: npm ci' : null,
    warning: null,
  };
  if (problem == null) {
    const threads = await wasmThreadsInUse();
    row.device = `CPU (XNNPACK, ${threads} thread${threads === 1 ? '' : 's'})`;
    const check = checkWasmInternals(tf.backend());
    if (!check.ok) {
      row.problem = `lth's fused kernels are off: ${check.problem}`;
      row.fix = 'install the pinned version: npm ci';
    }
  }
  return row;
}

async function nativeRow(): Promise<DoctorRow> {
  const problem = await load('native');
  const row: DoctorRow = { backend: 'native', package: 'native/ (lth-native addon)', loads: problem == null, device: null, problem, fix: null, warning: null };
  const addon = loadNativeAddon();
  if (problem == null && addon.ok) {
    const i = addon.addon.info();
    const n = nativeThreads();
    row.device = `CPU (${i.isa}; OpenBLAS ${i.blasCore}, oneDNN ${i.onednn} on ${i.onednnIsa}, ${n} thread${n === 1 ? '' : 's'})`;
  } else if (!addon.ok) {
    row.problem = addon.problem;
    row.fix = addon.fix;
  }
  return row;
}

/** What loading the webgpu backend gave, in the process that tried: see webgpuRow. */
export interface WebgpuProbe {
  problem: string | null;
  adapter: WebgpuAdapterInfo | null;
  device: string | null;
}

/** Loads the webgpu backend here and reports (src/backend/webgpu-probe.ts runs it in a child). */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  const problem = await load('webgpu');
  const a = problem == null ? webgpuAdapter() : null;
  return { problem, adapter: a, device: a ? `${backendLabel()} via Dawn ${a.dawnBackend}` : null };
}

/**
 * Dawn and Mesa write their own warnings (no Vulkan loader, EGL failures) from native code
 * straight to file descriptor 2, where JavaScript cannot catch them: the probe runs in a child
 * process whose stderr is shown only with --verbose.
 */
function probeInChild(verbose: boolean): Promise<WebgpuProbe> {
  const script = fileURLToPath(new URL('./webgpu-probe.js', import.meta.url));
  return new Promise((done) => {
    execFile(process.execPath, [script], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (verbose && stderr) process.stderr.write(stderr);
      try {
        done(JSON.parse(stdout) as WebgpuProbe);
      } catch {
        const how = err ? (err.signal ? `was killed by ${err.signal}` : `exited with ${String(err.code)}`) : 'printed no report';
        done({ problem: `the webgpu probe ${how} (lth doctor --verbose shows Dawn's messages)`, adapter: null, device: null });
      }
    });
  });
}

async function webgpuRow(verbose: boolean): Promise<DoctorRow & { adapter: WebgpuAdapterInfo | null }> {
  const { problem, adapter: a, device } = await probeInChild(verbose);
  const pkg = `${pkgLabel('@tensorflow/tfjs-backend-webgpu')} + ${pkgLabel('webgpu')}`;
  const row = { backend: 'webgpu' as const, package: pkg, loads: problem == null, device, problem, fix: null as string | null, warning: null, adapter: a };
  if (problem == null && a?.software) {
    row.problem = 'a software adapter (CPU): correct, slower than wasm; auto never picks it';
    row.fix = 'on a GPU machine: install the GPU driver and the Vulkan loader (libvulkan1)';
  } else if (problem && /not installed/.test(problem)) {
    row.fix = 'npm install (webgpu and @tensorflow/tfjs-backend-webgpu are optional dependencies)';
  } else if (problem) {
    // the advice the probe appended to its reason (same environment, same packages), as the fix
    const advice = noAdapterAdvice(process.env.EGL_PLATFORM);
    row.problem = problem.replace(`; ${advice}`, '');
    row.fix = advice;
  }
  return row;
}

async function tensorflowRow(): Promise<DoctorRow> {
  const gpuPkg = '@tensorflow/tfjs-node-gpu';
  const cpuPkg = '@tensorflow/tfjs-node';
  const hasGpu = version(gpuPkg) != null;
  const hasCpu = version(cpuPkg) != null;
  const libraries = checkLibraries(CUDA_NEEDED);
  const row: DoctorRow = {
    backend: 'tensorflow',
    package: hasGpu ? pkgLabel(gpuPkg) : hasCpu ? pkgLabel(cpuPkg) : `${gpuPkg} / ${cpuPkg} (not installed)`,
    loads: false,
    device: null,
    problem: null,
    fix: null,
    warning: null,
    libraries,
  };
  if (!hasGpu && !hasCpu) {
    row.problem = 'neither package is installed (both download libtensorflow at install time)';
    row.fix = `online: npm install ${gpuPkg}@4.22.0 (needs CUDA 11.2 + cuDNN 8.1: ${CUDA_NEEDED.join(', ')}) or ${cpuPkg}@4.22.0; for any GPU with Vulkan: --backend webgpu`;
    return row;
  }
  const problem = await load('tensorflow');
  row.loads = problem == null;
  row.problem = problem;
  if (problem) {
    row.fix = 'reinstall online (npm rebuild @tensorflow/tfjs-node-gpu downloads libtensorflow); or use --backend webgpu';
    return row;
  }
  const be = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  row.device = be.isUsingGpuDevice ? 'GPU (CUDA)' : 'CPU (libtensorflow)';
  const missing = libraries.filter((l) => l.found == null);
  if (be.isGPUPackage && !be.isUsingGpuDevice) {
    row.warning =
      `${gpuPkg} is installed but runs on the CPU` +
      (missing.length ? `: ${missing.map((l) => `${l.needed} not found${l.others.length ? ` (have ${l.others.join(', ')})` : ''}`).join('; ')}` : '') +
      '. It needs CUDA 11.2 and cuDNN 8.1; with CUDA 12 use --backend webgpu instead.';
    row.fix = `install CUDA 11.2 + cuDNN 8.1 (${CUDA_NEEDED.join(', ')}) on the library path, or use --backend webgpu`;
  }
  return row;
}

/**
 * Loads every backend in turn and reports. Leaves the current backend as whatever loaded last.
 * `verbose`: pass Dawn's and Mesa's own messages through to stderr.
 */
export async function runDoctor(opts: { verbose?: boolean } = {}): Promise<DoctorReport> {
  const tensorflow = await tensorflowRow();
  const { adapter, ...webgpu } = await webgpuRow(opts.verbose ?? false);
  const rows: DoctorRow[] = [tensorflow, webgpu, await nativeRow(), await wasmRow(), await cpuRow()];
  const byName = new Map(rows.map((r) => [r.backend, r]));
  const auto =
    AUTO_ORDER.find((n) => {
      const r = byName.get(n);
      if (!r?.loads) return false;
      return n !== 'webgpu' || !adapter?.software;
    }) ?? null;
  const warnings = rows.flatMap((r) => (r.warning ? [`${r.backend}: ${r.warning}`] : []));
  return { rows, auto, warnings };
}

/** How wide `lth doctor`'s text is at most (a terminal of 100 columns shows it unwrapped). */
export const DOCTOR_WIDTH = 100;

/**
 * `text` broken at spaces into lines of at most `width` characters (a word longer than that
 * is cut); the lines after the first start with `indent`, which counts towards the width.
 */
function wrapText(text: string, width: number, indent = ''): string[] {
  const lines: string[] = [];
  const lead = /^\s*/.exec(text)![0];
  let line = lead;
  for (let word of text.split(/\s+/).filter(Boolean)) {
    const room = width - (lines.length ? indent.length : 0);
    if (line.trim() && line.length + 1 + word.length > room) {
      lines.push(line);
      line = '';
    }
    for (let r = width - (lines.length ? indent.length : 0) - line.length; word.length > r; r = width - indent.length) {
      lines.push(line + word.slice(0, r));
      line = '';
      word = word.slice(r);
    }
    line = line.trim() ? `${line} ${word}` : line + word;
  }
  if (line || !lines.length) lines.push(line);
  return lines.map((l, i) => (i ? indent + l : l));
}

/**
 * The report as text of at most DOCTOR_WIDTH columns: the warnings above and below; a table of
 * backend, loads, device and package (device and package wrapped within their columns); then,
 * for each backend with a problem, the problem and its fix, wrapped under its name.
 */
export function formatDoctor(r: DoctorReport, toTable: (columns: string[], rows: (string | null)[][]) => string): string {
  const loud = r.warnings.map((w) => wrapText(`!!! WARNING: ${w}`, DOCTOR_WIDTH, '    ').join('\n')).join('\n');
  // cell text widths 10 + 5 + 33 + 38, plus a space either side and a border per column, plus one: 99
  const cell = (text: string, width: number) => wrapText(text, width, '  ').join('\n');
  const table = toTable(
    ['backend', 'loads', 'device', 'package'],
    r.rows.map((x) => [x.backend, x.loads ? 'yes' : 'NO', cell(x.device ?? '', 33), cell(x.package, 38)]),
  );
  const problems = r.rows
    .filter((x) => x.problem)
    .flatMap((x) => [
      ...wrapText(`${x.backend}: ${x.problem}`, DOCTOR_WIDTH, '    '),
      ...(x.fix ? wrapText(`  → fix: ${x.fix}`, DOCTOR_WIDTH, '         ') : []),
    ]);
  const tfRow = r.rows.find((x) => x.backend === 'tensorflow');
  const libs = tfRow?.libraries?.length
    ? 'CUDA/cuDNN for @tensorflow/tfjs-node-gpu (needed → found):\n' +
      tfRow.libraries
        .map((l) =>
          wrapText(`  ${l.needed} → ${l.found ?? `not found${l.others.length ? ` (present: ${l.others.join(', ')})` : ''}`}`, DOCTOR_WIDTH, '      ').join(
            '\n',
          ),
        )
        .join('\n') +
      '\n'
    : '';
  const parts = [
    loud,
    table.trimEnd(),
    problems.length ? `problems → fixes:\n${problems.join('\n')}` : '',
    libs.trimEnd(),
    `auto picks: ${r.auto ?? 'nothing loads'}`,
    loud,
  ].filter(Boolean);
  return parts.join('\n') + '\n';
}
