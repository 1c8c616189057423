/**
 * Recycled Float32Array storage for the native backend's kernel outputs.
 *
 * Why: the tfjs cpu backend gives every kernel output a new Float32Array and drops it on
 * dispose, leaving it to V8's garbage collector. A ResNet-20 step at batch 128 allocates about
 * 1 GB of them (2–8 MB activations); V8 counts ArrayBuffer memory as external and starts a full
 * mark-compact whenever some tens of MB more of it are held, so it marked the whole JS heap every
 * ~100 ms (~16 times a step), on its 4 worker threads: on a 2-core machine that took the second core
 * from lth's second native thread (docs/PERFORMANCE.md, "Two threads on native"). Reusing the
 * arrays of disposed outputs removes nearly all of those allocations, their zero-filling and
 * page faults, and the collections.
 *
 * An array is recycled only when it is certain that nothing else can see it:
 * - take() made it (a native kernel's output), and exactly one tensor-data entry holds it
 *   (adopt: a second entry on the same buffer, e.g. tfjs's slice that returns a subarray view,
 *   or Complex, marks it escaped);
 * - it was never read out of the backend (escape: readSync/read hand the very array to callers,
 *   who may keep it after the tensor is disposed, e.g. `dataSync()`);
 * - its data entry was deleted (release: the cpu backend's disposeData at refCount 0).
 * A recycled array holds old values: kernels that write every entry take it as is, others ask
 * for zeros (take's `zero`).
 */

type State = 'taken' | 'live' | 'free';

interface SizeClass {
  arrays: Float32Array[];
  /** the pool's clock at this class's last take or release (eviction order) */
  used: number;
}

export class BufferPool {
  private readonly classes = new Map<number, SizeClass>();
  private readonly state = new WeakMap<ArrayBuffer, State>();
  private freeBytes = 0;
  private clock = 0;
  /** tests only: fill arrays taken without `zero` with NaN, so that an entry a kernel leaves unwritten shows */
  poison = false;
  /** arrays handed out again / made new (for tests and benchmarks) */
  readonly counts = { reused: 0, made: 0, escaped: 0, evicted: 0 };

  /** @param cap the most bytes of free arrays held; beyond it the least recently used sizes go first (0: none kept) */
  constructor(public cap: number) {}

  /** An array of n floats: all zeros when `zero`, else arbitrary values (the caller writes every entry). */
  take(n: number, zero: boolean): Float32Array {
    this.clock++;
    const c = this.classes.get(n);
    let a = c?.arrays.pop();
    if (a) {
      c!.used = this.clock;
      this.freeBytes -= a.byteLength;
      this.counts.reused++;
      if (zero) a.fill(0);
    } else {
      a = new Float32Array(n);
      this.counts.made++;
    }
    if (this.poison && !zero) a.fill(Number.NaN);
    this.state.set(a.buffer as ArrayBuffer, 'taken');
    return a;
  }

  /** `values` is stored in a new tensor-data entry (the cpu backend's write or move). */
  adopt(values: unknown): void {
    const buf = bufferOf(values);
    if (!buf) return;
    const s = this.state.get(buf);
    if (s === 'taken' && whole(values as Float32Array)) this.state.set(buf, 'live');
    else if (s !== undefined) this.forget(buf);
  }

  /** `values` leaves the backend (readSync / read): never recycle its buffer. */
  escape(values: unknown): void {
    const buf = bufferOf(values);
    if (buf && this.state.has(buf)) this.forget(buf);
  }

  /** The data entry that held `values` is deleted: its array may be handed out again. */
  release(values: unknown): void {
    const buf = bufferOf(values);
    if (!buf || this.state.get(buf) !== 'live') return;
    const a = values as Float32Array;
    this.state.set(buf, 'free');
    this.clock++;
    let c = this.classes.get(a.length);
    if (!c) this.classes.set(a.length, (c = { arrays: [], used: 0 }));
    c.arrays.push(a);
    c.used = this.clock;
    this.freeBytes += a.byteLength;
    while (this.freeBytes > this.cap) this.evict();
  }

  /** Bytes of free arrays held. */
  get bytes(): number {
    return this.freeBytes;
  }

  /** Drops every free array (to the garbage collector). */
  clear(): void {
    for (const c of this.classes.values()) for (const a of c.arrays) this.state.delete(a.buffer as ArrayBuffer);
    this.classes.clear();
    this.freeBytes = 0;
  }

  /** Drops the oldest array of the least recently used size. */
  private evict(): void {
    let victim: [number, SizeClass] | undefined;
    for (const e of this.classes) if (e[1].arrays.length > 0 && (!victim || e[1].used < victim[1].used)) victim = e;
    if (!victim) return;
    const a = victim[1].arrays.shift()!;
    this.state.delete(a.buffer as ArrayBuffer);
    this.freeBytes -= a.byteLength;
    this.counts.evicted++;
    if (victim[1].arrays.length === 0) this.classes.delete(victim[0]);
  }

  private forget(buf: ArrayBuffer): void {
    this.state.delete(buf);
    this.counts.escaped++;
  }
}

function bufferOf(values: unknown): ArrayBuffer | undefined {
  return values instanceof Float32Array ? (values.buffer as ArrayBuffer) : undefined;
}

/** Does the array span its whole buffer (not a view into a larger one)? */
const whole = (a: Float32Array) => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
