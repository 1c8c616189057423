/**
 * The dashboard's query box runs each statement here, in a child process of `lth ui`, so that a
 * statement that never ends (a recursive CTE without a bound) or reads without end can be
 * stopped: SQLite's interrupt is not reachable from better-sqlite3, and a synchronous
 * statement in the server's own process would block every other request. The child opens the
 * database read-only, runs the statement with exactly `lth query`'s guard and a row cap, sends
 * one message and exits; the server kills it when its time is up (src/ui/data.ts).
 */
// db and query only: the figures' libraries (vega, resvg) would slow every statement's start
import { openReadOnly } from '../reporting/db.js';
import { runQuery } from '../reporting/query.js';

export interface QueryRequest {
  db: string;
  sql: string;
  maxRows: number;
}

export type QueryReply = { ok: true; columns: string[]; rows: unknown[][]; truncated: boolean } | { ok: false; userError: boolean; message: string };

process.once('message', (req: QueryRequest) => {
  let reply: QueryReply;
  try {
    const db = openReadOnly(req.db);
    try {
      const r = runQuery(db, req.sql, [], { maxRows: req.maxRows });
      reply = { ok: true, columns: r.columns, rows: r.rows, truncated: r.truncated ?? false };
    } finally {
      db.close();
    }
  } catch (e) {
    const err = e as Error;
    reply = { ok: false, userError: err.name === 'UserError', message: err.message };
  }
  process.send!(reply, () => process.exit(0));
});
