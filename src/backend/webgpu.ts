import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../util/tf.js';

/**
 * The WebGPU backend in Node: `@tensorflow/tfjs-backend-webgpu` on Dawn (the npm package
 * `webgpu`, which ships dawn.node; both optional dependencies).
 *
 * tfjs's own factory cannot be used in Node: it reads `navigator.gpu` (absent in Node) and asks
 * for an adapter with no feature level, which on a machine without a GPU finds none. So lth
 * registers its own factory that:
 *  1. asks Dawn for a core-feature-level adapter on its default backend (Vulkan on an NVIDIA or
 *     AMD machine) and takes it if it is hardware;
 *  2. otherwise asks Dawn's OpenGL ES backend, at the 'compatibility' feature level, with
 *     `EGL_PLATFORM=surfaceless`: on a CPU-only machine that is Mesa's llvmpipe (Debian
 *     packages libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri). Dawn's Vulkan path on
 *     lavapipe does not work: Dawn requires `shaderUniform*ArrayDynamicIndexing`.
 * A software adapter is only used when the backend is asked for by name (see initBackend).
 *
 * In Node, synchronous reads (`dataSync`) fail on this backend (tfjs looks for
 * `OffscreenCanvas`), so lth reads tensors with `await t.data()` wherever it may run on webgpu.
 */

/** What Dawn reports about the adapter in use. */
export interface WebgpuAdapterInfo {
  /** Dawn's adapter description, e.g. "NVIDIA H200" (Vulkan) or "OpenGL version OpenGL ES 3.2 Mesa 22.3.6" */
  description: string;
  /** Dawn's device string, e.g. "llvmpipe-llvm-15-0-6-256-bits-" */
  device: string;
  vendor: string;
  architecture: string;
  /** Dawn's backend: 'vulkan' or 'opengles' */
  dawnBackend: string;
  featureLevel: 'core' | 'compatibility';
  /** a CPU implementation (llvmpipe, lavapipe, SwiftShader): correct but slow */
  software: boolean;
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: { has(f: string): boolean };
  limits: Record<string, number>;
  requestDevice(desc: unknown): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(opts?: Record<string, unknown>): Promise<GpuAdapterLike | null>;
}

/** Names of CPU implementations of Vulkan / OpenGL ES that Dawn may report. */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software rasterizer/i;

export function isSoftwareAdapter(a: { description?: string; device?: string; isFallbackAdapter?: boolean }): boolean {
  return a.isFallbackAdapter === true || SOFTWARE.test(`${a.description ?? ''} ${a.device ?? ''}`);
}

/** "webgpu:NVIDIA H200" or "webgpu:llvmpipe (software)": what `levels.backend` records. */
export function webgpuLabel(a: WebgpuAdapterInfo): string {
  // Dawn's OpenGL ES adapter reports the GL version as its description and the renderer
  // ("llvmpipe-llvm-15-0-6-256-bits-") as its device: the implementation's name is what matters.
  if (a.software) return `webgpu:${SOFTWARE.exec(`${a.device} ${a.description}`)?.[0].toLowerCase() ?? 'software'} (software)`;
  return `webgpu:${a.description || a.device || a.vendor || 'unknown adapter'}`;
}

let adapterInUse: WebgpuAdapterInfo | null = null;
/** The adapter of the current 'webgpu' backend instance, or null if it has not loaded. */
export const webgpuAdapter = (): WebgpuAdapterInfo | null => adapterInUse;

function describe(a: GpuAdapterLike, dawnBackend: string, featureLevel: 'core' | 'compatibility'): WebgpuAdapterInfo {
  const i = a.info ?? {};
  const description = i.description || i.device || '';
  return {
    description,
    device: i.device ?? '',
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    dawnBackend,
    featureLevel,
    software: isSoftwareAdapter({ description, device: i.device, isFallbackAdapter: a.isFallbackAdapter ?? i.isFallbackAdapter }),
  };
}

/**
 * Finds Dawn's best adapter: a hardware one on Dawn's default backend if there is one, else
 * OpenGL ES at the compatibility level (llvmpipe on a CPU-only machine). Throws with the
 * reason and the fix if the packages are missing or no adapter is found.
 */
export async function findAdapter(hardwareOnly = false): Promise<{ gpu: GpuLike; adapter: GpuAdapterLike; info: WebgpuAdapterInfo }> {
  let dawn: { create(flags: string[]): GpuLike; globals: object };
  try {
    dawn = (await import(DAWN_PKG)) as unknown as typeof dawn;
  } catch (e) {
    throw new Error(`the optional package "webgpu" (Dawn for Node) is not installed or failed to load (${firstLine(e)}); run npm install`, { cause: e });
  }
  // GPUBufferUsage, GPUMapMode, … : tfjs-backend-webgpu reads these as globals.
  Object.assign(globalThis, dawn.globals);
  const tried: string[] = [];
  try {
    const gpu = dawn.create([]);
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (a) {
      const info = describe(a, 'default', 'core');
      if (!info.software) return { gpu, adapter: a, info: { ...info, dawnBackend: 'vulkan' } };
      tried.push(`default backend: software adapter ${info.description}`);
    } else tried.push('default backend (Vulkan): no adapter');
  } catch (e) {
    tried.push(`default backend: ${firstLine(e)}`);
  }
  // `auto` never runs on a software adapter, so it need not open (and warn about) OpenGL ES.
  if (hardwareOnly) throw new Error(`Dawn found no hardware WebGPU adapter (${tried.join('; ')})`);
  // Mesa's EGL needs no display when told so; set before Dawn first opens EGL.
  const userEgl = process.env.EGL_PLATFORM;
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const egl = `EGL_PLATFORM=${process.env.EGL_PLATFORM}${userEgl === undefined ? '' : ' from the environment'}`;
  try {
    const gpu = dawn.create(['backend=opengles']);
    const a = await gpu.requestAdapter({ featureLevel: 'compatibility' });
    if (a) return { gpu, adapter: a, info: describe(a, 'opengles', 'compatibility') };
    tried.push(`OpenGL ES (compatibility, ${egl}): no adapter`);
  } catch (e) {
    tried.push(`OpenGL ES (${egl}): ${firstLine(e)}`);
  }
  throw new Error(`Dawn found no WebGPU adapter (${tried.join('; ')}); ${noAdapterAdvice(userEgl)}`);
}

/** The Debian packages of Mesa's EGL and OpenGL ES with llvmpipe: Dawn's adapter without a GPU. */
export const EGL_PACKAGES = ['libegl1', 'libegl-mesa0', 'libgles2', 'libgl1-mesa-dri'] as const;

/** Installed Debian packages among `names`, with their versions; null where there is no dpkg. */
export function installedDebs(names: readonly string[]): Map<string, string> | null {
  let out: string;
  try {
    out = execFileSync('dpkg-query', ['-W', '-f', '${Package} ${Version} ${db:Status-Status}\\n', ...names], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (e) {
    // dpkg-query exits 1 when some name is not installed, and still prints the others; no dpkg: no stdout
    const { code, stdout } = e as { code?: unknown; stdout?: unknown };
    if (code === 'ENOENT' || typeof stdout !== 'string') return null;
    out = stdout;
  }
  const rows = out.split('\n').map((l) => /^(\S+) (\S+) installed$/.exec(l));
  return new Map(rows.flatMap((m) => (m ? [[m[1]!, m[2]!] as const] : [])));
}

/**
 * What to do when Dawn finds no adapter, from what is on the machine: the EGL/GLES packages
 * that are missing, or, when all are installed, the EGL platform that failed (`userEgl`: the
 * EGL_PLATFORM the environment set, undefined where lth chose surfaceless).
 */
export function noAdapterAdvice(userEgl: string | undefined, debs: Map<string, string> | null = installedDebs(EGL_PACKAGES)): string {
  const gpu = "on a GPU machine install the Vulkan loader (libvulkan1) and the vendor's driver";
  const missing = debs ? EGL_PACKAGES.filter((p) => !debs.has(p)) : [...EGL_PACKAGES];
  if (missing.length) return `${gpu}; without a GPU install ${missing.join(' ')} (llvmpipe)${debs ? '' : ' (no dpkg here to check which are installed)'}`;
  const found = `the EGL/GLES packages are installed (${EGL_PACKAGES.map((p) => `${p} ${debs!.get(p)}`).join(', ')})`;
  if (userEgl !== undefined && userEgl !== 'surfaceless')
    return `${found}, but EGL_PLATFORM=${userEgl} from the environment failed: unset EGL_PLATFORM (lth then uses surfaceless, which needs no display) or set EGL_PLATFORM=surfaceless`;
  return `${found}, but Mesa's EGL found no device with EGL_PLATFORM=surfaceless (lth doctor --verbose shows EGL's own messages); ${gpu}`;
}

/** Whether the Vulkan loader Dawn opens for hardware adapters is on the library path. */
export function vulkanLoaderPresent(env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/lib64',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

// Specifiers in variables: both are optional dependencies, so tsc must not require their types.
const DAWN_PKG = 'webgpu';
const TFJS_WEBGPU_PKG = '@tensorflow/tfjs-backend-webgpu';

const firstLine = (e: unknown): string => String(e instanceof Error ? e.message : e).split('\n')[0];

interface WebgpuPkg {
  WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;
}

/**
 * Registers lth's 'webgpu' factory with tfjs (replacing the package's own). Returns the adapter
 * it will use; throws (reason + fix) if the packages or an adapter are missing.
 */
export async function registerWebgpu(hardwareOnly = false): Promise<WebgpuAdapterInfo> {
  // Without a Vulkan loader there is no hardware adapter on Linux, and Dawn would print its
  // own warnings on every `auto` start: skip the probe.
  if (hardwareOnly && process.platform === 'linux' && !vulkanLoaderPresent()) throw new Error('no Vulkan loader (libvulkan.so.1), so no hardware adapter');
  let pkg: WebgpuPkg;
  try {
    pkg = (await import(TFJS_WEBGPU_PKG)) as unknown as WebgpuPkg;
  } catch (e) {
    throw new Error(`the optional package @tensorflow/tfjs-backend-webgpu is not installed or failed to load (${firstLine(e)}); run npm install`, { cause: e });
  }
  const { gpu, adapter, info } = await findAdapter(hardwareOnly);
  if (tf.findBackend('webgpu') != null || tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      // The limits tfjs's own factory asks for (tfjs-backend-webgpu 4.22 base.ts).
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        },
      });
      // WebGPUBackend's constructor checks `navigator.gpu` (Node 20 has no navigator at all).
      const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
      if (nav.gpu == null) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
      adapterInUse = info;
      return new pkg.WebGPUBackend(device, adapter.info);
    },
    0,
  );
  return info;
}
