import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { processAlive } from './weights.js';

/** A lock older than this without a heartbeat is stale even when its pid looks alive (pid reuse, another host). */
const LOCK_STALE_MS = 10 * 60 * 1000;
const HEARTBEAT_MS = 30 * 1000;

/** A row of the `locks` table. */
interface LockRow {
  pid: number;
  host: string;
  heartbeat_at: string;
}

/** Whether a lock's holder may still be running: a heartbeat in the last 10 minutes, and on this host a live pid. */
function lockAlive(l: LockRow): boolean {
  if (Date.now() - Date.parse(l.heartbeat_at) > LOCK_STALE_MS) return false;
  return l.host !== hostname() || processAlive(l.pid);
}

/**
 * The job locks of one connection (table `locks`): which process trains which job ("dense t0",
 * "rewind t1") of an experiment, so that two `lth run` on one database never train the same
 * level twice. Held locks get a heartbeat every 30 s.
 */
export class Locks {
  /** jobs this process holds a lock on, by "experimentId/job" */
  readonly #held = new Map<string, { experimentId: number; job: string }>();
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly db: Database.Database) {}

  /**
   * Takes the lock on one job of an experiment. Returns false when another live process holds
   * it. A lock is stale, and taken over, when its process on this host is gone, or when it has
   * had no heartbeat for 10 minutes (a killed process on another host, or a reused pid).
   * Re-entrant within a process.
   */
  tryLock(experimentId: number, job: string): boolean {
    const me = { pid: process.pid, host: hostname() };
    const got = this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT pid, host, heartbeat_at FROM locks WHERE experiment_id = ? AND job = ?').get(experimentId, job) as
          LockRow | undefined;
        if (row && !(row.pid === me.pid && row.host === me.host) && lockAlive(row)) return false;
        this.db
          .prepare('INSERT OR REPLACE INTO locks(experiment_id, job, pid, host, heartbeat_at) VALUES (?, ?, ?, ?, ?)')
          .run(experimentId, job, me.pid, me.host, new Date().toISOString());
        return true;
      })
      .immediate();
    if (got) {
      this.#held.set(`${experimentId}/${job}`, { experimentId, job });
      this.#heartbeat ??= setInterval(() => this.beat(), HEARTBEAT_MS).unref();
    }
    return got;
  }

  /** Releases a lock this process holds (no-op otherwise). */
  unlock(experimentId: number, job: string): void {
    this.#held.delete(`${experimentId}/${job}`);
    this.db.prepare('DELETE FROM locks WHERE experiment_id = ? AND job = ? AND pid = ? AND host = ?').run(experimentId, job, process.pid, hostname());
  }

  /** Releases every lock this process holds and stops the heartbeat (before closing the connection). */
  releaseAll(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    for (const { experimentId, job } of this.#held.values()) this.unlock(experimentId, job);
  }

  /** Locks on an experiment whose holder may still be running (`lth rm` refuses then). */
  live(experimentId: number): { pid: number; host: string }[] {
    return (this.db.prepare('SELECT pid, host, heartbeat_at FROM locks WHERE experiment_id = ?').all(experimentId) as LockRow[]).filter(lockAlive);
  }

  private beat(): void {
    try {
      const up = this.db.prepare('UPDATE locks SET heartbeat_at = ? WHERE experiment_id = ? AND job = ? AND pid = ? AND host = ?');
      for (const { experimentId, job } of this.#held.values()) up.run(new Date().toISOString(), experimentId, job, process.pid, hostname());
    } catch {
      // busy: the next beat retries; a lock is stale only after 10 minutes without one
    }
  }
}
