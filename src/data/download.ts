import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DataFile } from './types.js';

export interface DownloadOptions {
  log?: (msg: string) => void;
  idleTimeoutMs?: number;
}

/** One mirror's failure, for the error message. */
export interface Attempt {
  url: string;
  error: string;
}

const MB = 1024 * 1024;

/**
 * Fetches `file` from the first mirror that serves it intact and moves it to `dest` (atomically:
 * a temp file beside it, then rename, so a crash or a parallel worker never sees half a file).
 * Size and digests are checked while streaming; a bad copy is deleted and the next mirror tried.
 * Resolves to null on success, else the list of what each mirror did.
 */
export async function download(file: DataFile, mirrors: readonly string[], dest: string, opts: DownloadOptions = {}): Promise<Attempt[] | null> {
  await mkdir(dirname(dest), { recursive: true });
  const attempts: Attempt[] = [];
  for (const base of mirrors) {
    const url = new URL(file.name, base.endsWith('/') ? base : `${base}/`).href;
    const tmp = join(dirname(dest), `.${file.name}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
    try {
      await fetchTo(url, tmp, file, opts);
      await rename(tmp, dest);
      opts.log?.(`downloaded ${file.name} from ${url}, checksum verified`);
      return null;
    } catch (e) {
      await rm(tmp, { force: true });
      const error = (e as Error).message;
      attempts.push({ url, error });
      opts.log?.(`${url}: ${error}`);
    }
  }
  return attempts;
}

async function fetchTo(url: string, tmp: string, file: DataFile, opts: DownloadOptions): Promise<void> {
  const idle = opts.idleTimeoutMs ?? 60_000;
  const ctrl = new AbortController();
  let timer = setTimeout(() => ctrl.abort(), idle);
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(), idle);
  };
  const out = await open(tmp, 'w');
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ctrl.signal, redirect: 'follow' });
    } catch (e) {
      throw new Error(ctrl.signal.aborted ? `no answer in ${idle / 1000} s` : describeFetchError(e), { cause: e });
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    const total = Number(res.headers.get('content-length')) || file.size || 0;
    opts.log?.(`downloading ${file.name} from ${url}${total ? ` (${(total / MB).toFixed(1)} MB)` : ''}`);
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    let got = 0;
    let nextReport = 0.1;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        poke();
        md5.update(chunk);
        sha.update(chunk);
        got += chunk.length;
        await out.write(chunk);
        if (total > 4 * MB && got / total >= nextReport) {
          opts.log?.(`  ${file.name}: ${Math.floor((100 * got) / total)}% (${(got / MB).toFixed(1)} / ${(total / MB).toFixed(1)} MB)`);
          nextReport += 0.1;
        }
      }
    } catch (e) {
      throw new Error(ctrl.signal.aborted ? `stalled: nothing received for ${idle / 1000} s` : `connection lost: ${describeFetchError(e)}`, { cause: e });
    }
    await out.sync();
    if (file.size !== undefined && got !== file.size) throw new Error(`corrupt download (${got} bytes, expected ${file.size}), deleted`);
    if (file.sha256 && sha.digest('hex') !== file.sha256) throw new Error('corrupt download (sha256 mismatch), deleted');
    if (file.md5 && md5.digest('hex') !== file.md5) throw new Error('corrupt download (md5 mismatch), deleted');
  } finally {
    clearTimeout(timer);
    await out.close();
  }
}

function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message;
}
