import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A one-node Slurm cluster on localhost, for the tests and `lth bench` (docs/CLUSTER.md):
 * munged as the munge user (socket folder mode 0711), slurmctld and slurmd as root from a
 * temporary slurm.conf (proctrack/linuxproc, task/none: no cgroups needed; no accounting;
 * cred_expire=10 so that a requeued task is eligible again after 11 s instead of about 2
 * minutes). Every daemon is stopped by its PID.
 */

export const SLURM_PACKAGES = ['slurmctld', 'slurmd', 'slurm-client', 'munge'] as const;
const BINARIES = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'sinfo'];

const which = (cmd: string): string | null => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

/** Why a local cluster cannot start here (null: it can), installing Slurm with apt-get when root and it is missing. */
export function ensureSlurm(install = true): string | null {
  if (process.platform !== 'linux') return `Slurm needs Linux (this is ${process.platform})`;
  if (BINARIES.every((b) => which(b))) {
    if (process.getuid?.() !== 0) return 'the local cluster runs slurmd as root (SlurmUser=root), and this process is not root';
    return null;
  }
  if (process.getuid?.() !== 0) return `Slurm is not installed and this process is not root, so it cannot apt-get install ${SLURM_PACKAGES.join(' ')}`;
  if (!which('apt-get')) return `Slurm is not installed and there is no apt-get to install ${SLURM_PACKAGES.join(' ')}`;
  if (!install) return 'Slurm is not installed';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '-qq', '--no-install-recommends', ...SLURM_PACKAGES];
  let r = spawnSync('apt-get', args, { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, encoding: 'utf8' });
    r = spawnSync('apt-get', args, { env, encoding: 'utf8' });
  }
  if (r.status !== 0) throw new Error(`apt-get install ${SLURM_PACKAGES.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const missing = BINARIES.filter((b) => !which(b));
  if (missing.length) throw new Error(`after apt-get install, ${missing.join(', ')} are still missing`);
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    // a zombie is gone for our purposes
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

export interface LocalSlurm {
  readonly dir: string;
  readonly conf: string;
  /** process.env plus SLURM_CONF: pass it to sbatch, squeue, scontrol, submit.sh */
  readonly env: NodeJS.ProcessEnv;
  readonly pids: { munged: number; slurmctld: number; slurmd: number };
  /** runs a Slurm client command against this cluster; throws with its stderr on failure */
  cmd(args: string[]): string;
  /** job ids (e.g. "12_3") and states (PENDING, RUNNING, …) of the cluster's unfinished jobs */
  queue(): { id: string; state: string; reason: string }[];
  /** polls squeue until no job of these array ids is left (sbatch --wait lags), or throws after timeoutS */
  waitEmpty(jobIds: string[], timeoutS: number): Promise<void>;
  /** cancels every job, stops the three daemons by PID, removes the folder */
  stop(): Promise<void>;
  logs(): string;
}

/** Starts munged, slurmctld and slurmd with `cpus` CPUs; resolves once the node is idle. */
export async function startLocalSlurm(opts: { cpus?: number; keep?: boolean } = {}): Promise<LocalSlurm> {
  const cpus = opts.cpus ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'lth-slurm-'));
  chmodSync(dir, 0o755); // munged (user munge) must reach its folder
  const munge = join(dir, 'munge');
  mkdirSync(munge);
  const id = (flag: string) => Number(execFileSync('id', [flag, 'munge'], { encoding: 'utf8' }).trim()); // the munge package creates the user
  chownSync(munge, id('-u'), id('-g'));
  chmodSync(munge, 0o711); // munged refuses a socket folder others can write to
  for (const d of ['state', 'spool']) mkdirSync(join(dir, d));
  const node = hostname().split('.')[0];
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const socket = join(munge, 'munge.socket');
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=lthlocal',
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket},cred_expire=10`,
      'CredType=cred/munge',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'SchedulerType=sched/backfill',
      // the main scheduling loop every 2 s (default 60 s): a requeued task starts as soon as it is eligible
      'SchedulerParameters=sched_interval=2,bf_interval=2',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'ReturnToService=2',
      'MpiDefault=none',
      'KillWait=10',
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
      'PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const pids = { munged: 0, slurmctld: 0, slurmd: 0 };
  const readPid = async (file: string, what: string) => {
    for (let i = 0; i < 100; i++) {
      if (existsSync(file)) {
        const pid = Number(readFileSync(file, 'utf8').trim());
        if (pid > 0) return pid;
      }
      await sleep(100);
    }
    throw new Error(`${what} did not write ${file}`);
  };
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  };
  const cluster: LocalSlurm = {
    dir,
    conf,
    env,
    pids,
    cmd: (args) => run(args[0], args.slice(1)),
    queue: () =>
      run('squeue', ['-h', '-t', 'all', '-o', '%i|%T|%r'])
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [id, state, reason] = l.split('|');
          return { id, state, reason };
        })
        .filter((j) => !['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED'].includes(j.state)),
    async waitEmpty(jobIds, timeoutS) {
      const deadline = Date.now() + timeoutS * 1000;
      for (;;) {
        const left = cluster.queue().filter((j) => jobIds.some((id) => j.id === id || j.id.startsWith(`${id}_`)));
        if (left.length === 0) return;
        if (Date.now() > deadline)
          throw new Error(`jobs still queued after ${timeoutS} s: ${left.map((j) => `${j.id} ${j.state} (${j.reason})`).join(', ')}\n${cluster.logs()}`);
        await sleep(500);
      }
    },
    async stop() {
      try {
        const ids = cluster.queue().map((j) => j.id);
        if (ids.length) spawnSync('scancel', ids, { env });
        for (let i = 0; i < 50 && cluster.queue().length; i++) await sleep(200);
      } catch {
        /* the controller may be down already */
      }
      for (const pid of [pids.slurmd, pids.slurmctld, pids.munged]) {
        if (!pid || !alive(pid)) continue;
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
    logs: () =>
      ['slurmctld.log', 'slurmd.log']
        .map((f) => {
          const p = join(dir, f);
          return existsSync(p) ? `--- ${f} (last lines)\n${readFileSync(p, 'utf8').trim().split('\n').slice(-15).join('\n')}` : '';
        })
        .join('\n'),
  };
  try {
    run('runuser', ['-u', 'munge', '--', 'mungekey', '-c', '-k', join(munge, 'munge.key')]);
    run('runuser', [
      '-u',
      'munge',
      '--',
      'munged',
      `--socket=${socket}`,
      `--pid-file=${join(munge, 'munged.pid')}`,
      `--log-file=${join(munge, 'munged.log')}`,
      `--seed-file=${join(munge, 'munged.seed')}`,
      `--key-file=${join(munge, 'munge.key')}`,
    ]);
    pids.munged = await readPid(join(munge, 'munged.pid'), 'munged');
    run('slurmctld', ['-f', conf, '-i']);
    pids.slurmctld = await readPid(join(dir, 'slurmctld.pid'), 'slurmctld');
    run('slurmd', ['-f', conf, '-N', node]);
    pids.slurmd = await readPid(join(dir, 'slurmd.pid'), 'slurmd');
    for (let i = 0; ; i++) {
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' });
      if (r.status === 0 && r.stdout.trim() === 'idle') break;
      if (i > 300) throw new Error(`the local Slurm node is not idle after 30 s (sinfo: ${r.stdout.trim() || r.stderr.trim()})\n${cluster.logs()}`);
      await sleep(100);
    }
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
