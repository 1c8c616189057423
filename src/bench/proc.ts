import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Peak resident memory of a child process tree, sampled from /proc (Linux only; elsewhere the
 * numbers are null). VmHWM is the kernel's own high-water mark for a process, so a sample taken
 * shortly before a process exits already holds its peak; we keep the largest value seen per pid.
 */

function readKb(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** pid → parent pid for every process visible in /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // "pid (comm) state ppid ..." — comm may contain spaces or parentheses
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(e), Number(rest[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function descendants(root: number): number[] {
  const pp = parents();
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of pp) if (ppid === out[i] && !out.includes(pid)) out.push(pid);
  return out;
}

export interface ChildRun {
  code: number | null;
  seconds: number;
  stdout: string;
  stderr: string;
  /** peak RSS (VmHWM) in MB per process of the tree: the root first, then its children in order of appearance */
  peakRssMb: { pid: number; root: boolean; mb: number }[];
}

/** Runs `node args…`, sampling the VmHWM of the process and all its descendants every `everyMs`. */
export function runNodeSampled(args: string[], env: NodeJS.ProcessEnv, everyMs = 200): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const peak = new Map<number, number>();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const sample = () => {
      if (child.pid == null) return;
      for (const pid of descendants(child.pid)) {
        const kb = readKb(pid, 'VmHWM');
        if (kb != null) peak.set(pid, Math.max(peak.get(pid) ?? 0, kb));
      }
    };
    const timer = setInterval(sample, everyMs);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      const peakRssMb = [...peak].map(([pid, kb]) => ({ pid, root: pid === child.pid, mb: kb / 1024 }));
      // the stdio pipes may still hold the last output
      child.stdout.once('close', () => resolve({ code, seconds, stdout, stderr, peakRssMb }));
      if (child.stdout.closed) resolve({ code, seconds, stdout, stderr, peakRssMb });
    });
  });
}

/** This process's peak RSS in MB. */
export const selfPeakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
