/** `lth ui` as a child process for the dashboard tests: started on a free port, stopped by its PID. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
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

/** A server that is not idle by then is killed, and stopServer fails: SIGTERM must stop it at once. */
const STOP_WITHIN_MS = 15_000;

/** SIGTERM to this server only, and wait for it to exit; throws if it takes longer than STOP_WITHIN_MS. */
export async function stopServer(s: UiProcess | undefined): Promise<void> {
  if (!s || s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  process.kill(s.proc.pid!, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), STOP_WITHIN_MS)))]);
  clearTimeout(timer);
  if (late) {
    s.proc.kill('SIGKILL');
    await exited;
    throw new Error(`lth ui did not exit within ${STOP_WITHIN_MS / 1000} s of SIGTERM (an open connection? read every response body to the end)`);
  }
}

/**
 * GET a URL and read its body to the end; resolves with the status. A body left unread keeps its
 * connection busy, and the server's close on SIGTERM then waits for that connection to time out.
 */
export async function statusOf(url: URL | string): Promise<number> {
  const r = await fetch(url);
  await r.arrayBuffer();
  return r.status;
}

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Headless Chromium (playwright-core) with one 1400×1000 page; start it while the server starts. */
export async function openPage(): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(120_000);
  return { browser, page };
}
