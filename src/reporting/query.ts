import type { Statement } from 'better-sqlite3';
import { UserError } from '../util/index.js';
import { type Db, withDb } from './db.js';
import { type Format, checkFormat, renderTabular } from './format.js';

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** true when the statement had more than `maxRows` rows and reading stopped there */
  truncated?: boolean;
}

/** Statements `lth query` runs: reads only. */
const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'EXPLAIN', 'PRAGMA']);

/** Informational pragmas that take a table / index argument: `PRAGMA table_info(levels)`. */
const PRAGMA_WITH_ARGUMENT = new Set([
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'foreign_key_check',
  'integrity_check',
  'quick_check',
]);
/** Pragmas that only report when given no argument (with one, some of them would set). */
const PRAGMA_BARE = new Set([
  ...PRAGMA_WITH_ARGUMENT,
  'database_list',
  'collation_list',
  'function_list',
  'pragma_list',
  'module_list',
  'compile_options',
  'user_version',
  'schema_version',
  'application_id',
  'page_count',
  'page_size',
  'freelist_count',
  'encoding',
  'journal_mode',
  'foreign_keys',
]);

/** The SQL with leading whitespace and comments removed (to read its first keyword). */
function stripLeadingComments(sql: string): string {
  let s = sql;
  for (;;) {
    s = s.replace(/^\s+/, '');
    if (s.startsWith('--')) {
      const nl = s.indexOf('\n');
      s = nl < 0 ? '' : s.slice(nl + 1);
    } else if (s.startsWith('/*')) {
      const end = s.indexOf('*/');
      s = end < 0 ? '' : s.slice(end + 2);
    } else return s;
  }
}

function refuse(what: string): never {
  throw new UserError(`lth query is read-only: ${what} would change the database or the connection — nothing was run (results are written by \`lth run\`)`);
}

/**
 * Prepare `sql` and make sure it only reads. Three locks, any one of which suffices for the
 * file: the connection is opened read-only, the first keyword must be a read (SELECT, WITH,
 * VALUES, EXPLAIN, an informational PRAGMA), and SQLite itself must judge the compiled
 * statement read-only (catches `WITH … INSERT`).
 */
export function prepareReadOnly(db: Db, sql: string): Statement {
  const body = stripLeadingComments(sql);
  if (!body.trim()) throw new UserError('empty query — pass one SQL statement, e.g. lth query "SELECT * FROM levels LIMIT 5"');
  const keyword = (/^[A-Za-z]+/.exec(body)?.[0] ?? '').toUpperCase();
  if (!READ_KEYWORDS.has(keyword)) refuse(keyword ? `${keyword} statements` : 'this statement');
  if (keyword === 'PRAGMA') {
    const m = /^pragma\s+(?:"?\w+"?\s*\.\s*)?"?(\w+)"?\s*(\([^)]*\))?\s*;?\s*$/is.exec(body.trim());
    if (!m || body.includes('=')) refuse('setting a PRAGMA');
    const name = m[1].toLowerCase();
    const allowed = m[2] ? PRAGMA_WITH_ARGUMENT.has(name) : PRAGMA_BARE.has(name);
    if (!allowed) refuse(`PRAGMA ${name}${m[2] ? ' with an argument' : ''}`);
  }
  let stmt: Statement;
  try {
    stmt = db.prepare(sql);
  } catch (e) {
    const msg = (e as Error).message;
    if (/more than one statement/i.test(msg)) throw new UserError('lth query runs one statement at a time — remove the extra statements after the first ";"');
    throw new UserError(`SQL error: ${msg} — the views are \`levels\` and \`curves\`; see docs/SCHEMA.md`);
  }
  if (!stmt.readonly) refuse('this statement');
  return stmt;
}

/** `lth query`: run one read-only statement; with `maxRows`, stop reading after that many rows
 *  (the rest is never materialized, so a huge result cannot exhaust memory). */
export function runQuery(db: Db | string, sql: string, params: unknown[] = [], opts: { maxRows?: number } = {}): QueryResult {
  return withDb(db, (h) => {
    const stmt = prepareReadOnly(h, sql);
    if (!stmt.reader) return { columns: [], rows: [] };
    try {
      const columns = stmt.columns().map((c) => c.name);
      if (opts.maxRows === undefined) return { columns, rows: stmt.raw(true).all(...params) as unknown[][] };
      const rows: unknown[][] = [];
      let truncated = false;
      for (const row of stmt.raw(true).iterate(...params) as IterableIterator<unknown[]>) {
        if (rows.length === opts.maxRows) {
          truncated = true;
          break; // leaving the loop early resets the statement
        }
        rows.push(row);
      }
      return { columns, rows, truncated };
    } catch (e) {
      if (/readonly|read-only/i.test((e as Error).message)) refuse('this statement');
      throw new UserError(`SQL error: ${(e as Error).message}`);
    }
  });
}

function cell(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `<blob ${v.length} bytes>`;
  return String(v);
}

export function renderQuery(r: QueryResult, format: Format = 'table'): string {
  checkFormat(format);
  return renderTabular(
    {
      columns: r.columns,
      rows: r.rows.map((row) => row.map(cell)),
      caption: format === 'table' ? [`${r.rows.length} row${r.rows.length === 1 ? '' : 's'}`] : [],
    },
    format,
  );
}
