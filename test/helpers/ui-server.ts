/** `lth ui` as a child process for the dashboard tests: started on a free port, stopped by its PID. */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI, ROOT } from './common.js';

export interface UiProcess {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
}

/** Resolves with the URL the server prints once it listens. */
export function startServer(db: string, extra: string[] = []): Promise<UiProcess> {
  const proc = spawn(process.execPath, [CLI, 'ui', '--db', db, '--port', '0', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/\S+\/)/.exec(out);
      if (m) resolve({ proc, url: m[1], stderr: () => err });
    });
    proc.on('exit', (code) => reject(new Error(`lth ui exited with ${code}: ${err}`)));
  });
}

/** SIGTERM to this server only, and wait for it to exit. */
export async function stopServer(s: UiProcess | undefined): Promise<void> {
  if (!s || s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  process.kill(s.proc.pid!, 'SIGTERM');
  await exited;
}
