/**
 * `lth ui`: a local, read-only dashboard over an lth database (Fastify). It opens the database
 * read-only (no write can reach it, so it is safe beside a running `lth run` in WAL mode),
 * serves only the files of its own built front end (a fixed list, no paths from the request),
 * and pushes a "change" event over Server-Sent Events whenever another connection commits
 * (SQLite's `PRAGMA data_version`), so open pages refresh without a reload.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type FastifyFactory from 'fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { openReadOnly } from '../reporting/db.js';
import { UserError } from '../util/errors.js';
import { analysesPage, anatomyPage, comparePage, curvesFigure, experimentPage, experimentsInfo, metricChoices, queryPage, schemaPage } from './data.js';
import type { Db } from './reporting.js';

export interface UiOptions {
  /** the results database (opened read-only) */
  db: string;
  /** default 127.0.0.1; anything else is reachable from other machines (the CLI warns) */
  host?: string;
  /** default 8765; 0 picks a free port */
  port?: number;
  /** how often the database is checked for new commits, ms (default 250: well within 2 s) */
  pollMs?: number;
  /** folder of the built front end (default: dist/ui beside this module) */
  assetsDir?: string;
  /** how long one query-box statement may run before it is stopped, ms (default QUERY_TIME_LIMIT_MS) */
  queryTimeLimitMs?: number;
}

export interface UiServer {
  /** e.g. http://127.0.0.1:8765/ */
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8765;

/** Hosts that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The front end `npm run build` writes (scripts/build-ui.mjs): the only files the server sends. */
const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

function defaultAssetsDir(): string {
  // dist/src/ui/server.js → dist/ui
  return fileURLToPath(new URL('../../ui/', import.meta.url));
}

function loadAssets(dir: string): { index: string; files: Map<string, { body: Buffer; type: string }> } {
  const files = new Map<string, { body: Buffer; type: string }>();
  const read = (name: string) => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new UserError(`the dashboard's front end is not built (${file} is missing) — run \`npm run build\``);
    return fs.readFileSync(file);
  };
  for (const [name, type] of Object.entries(ASSETS)) files.set(name, { body: read(name), type });
  return { index: read('index.html').toString('utf8'), files };
}

/** Vega compiles expressions with `new Function` (unsafe-eval); no inline script ever runs. */
const CSP =
  "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const nameParam = { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 500 } }, required: ['name'] } as const;

/** Build the Fastify app over an open read-only handle (no listening). */
export function buildApp(db: Db, opts: Pick<UiOptions, 'assetsDir' | 'pollMs' | 'queryTimeLimitMs'> = {}): FastifyInstance {
  const assets = loadAssets(opts.assetsDir ?? defaultAssetsDir());
  // unknown query parameters are an error (400), not silently dropped (Fastify's default)
  // Fastify and its dependencies load when a dashboard is built, not with every lth command
  const Fastify = createRequire(import.meta.url)('fastify') as typeof FastifyFactory;
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 256 * 1024,
    routerOptions: { maxParamLength: 500 },
    ajv: { customOptions: { removeAdditional: false } },
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('Content-Security-Policy', CSP);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    return payload;
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof UserError || err.name === 'UserError') {
      const status = /^no experiment|has no (strategy|trial|level)/.test(err.message) ? 404 : 400;
      return reply.code(status).send({ error: err.message });
    }
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (code === 500) process.stderr.write(`lth ui: internal error: ${err.stack ?? err.message}\n`);
    return reply.code(code).send({ error: code === 500 ? 'internal error (see the server log)' : err.message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));

  // ---------- the front end ----------
  app.get('/', (_req, reply) => reply.type('text/html; charset=utf-8').send(assets.index));
  app.get<{ Params: { file: string } }>('/assets/:file', (req, reply) => {
    const a = assets.files.get(req.params.file);
    if (!a) return reply.code(404).send({ error: 'not found' });
    return reply.type(a.type).header('Cache-Control', 'no-cache').send(a.body);
  });

  // ---------- the API (read-only, JSON) ----------
  app.get('/api/experiments', () => ({ experiments: experimentsInfo(db), metrics: metricChoices() }));

  app.get<{ Params: { name: string }; Querystring: { errorBars?: 'std' | 'minmax' | 'none' } }>(
    '/api/experiments/:name',
    {
      schema: {
        params: nameParam,
        querystring: { type: 'object', properties: { errorBars: { enum: ['std', 'minmax', 'none'] } }, additionalProperties: false },
      },
    },
    (req) => experimentPage(db, req.params.name, req.query.errorBars),
  );

  app.get<{ Params: { name: string }; Querystring: { levels: string } }>(
    '/api/experiments/:name/curves',
    {
      schema: {
        params: nameParam,
        querystring: {
          type: 'object',
          properties: { levels: { type: 'string', pattern: '^\\d{1,4}(,\\d{1,4}){0,63}$' } },
          required: ['levels'],
          additionalProperties: false,
        },
      },
    },
    (req) => ({ figure: curvesFigure(db, req.params.name, req.query.levels.split(',').map(Number)) }),
  );

  app.get<{ Params: { name: string }; Querystring: { a: string; b: string; metric?: string; confidence?: number; method?: 't' | 'bootstrap' } }>(
    '/api/experiments/:name/compare',
    {
      schema: {
        params: nameParam,
        querystring: {
          type: 'object',
          properties: {
            a: { type: 'string', minLength: 1, maxLength: 500 },
            b: { type: 'string', minLength: 1, maxLength: 500 },
            metric: { type: 'string', maxLength: 100 },
            confidence: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
            method: { enum: ['t', 'bootstrap'] },
          },
          required: ['a', 'b'],
          additionalProperties: false,
        },
      },
    },
    (req) =>
      comparePage(db, req.params.name, req.query.a, req.query.b, { metric: req.query.metric, confidence: req.query.confidence, method: req.query.method }),
  );

  app.get<{ Params: { name: string }; Querystring: { strategy?: string; trial?: number; level?: number } }>(
    '/api/experiments/:name/anatomy',
    {
      schema: {
        params: nameParam,
        querystring: {
          type: 'object',
          properties: {
            strategy: { type: 'string', minLength: 1, maxLength: 500 },
            trial: { type: 'integer', minimum: 0 },
            level: { type: 'integer', minimum: 0 },
          },
          additionalProperties: false,
        },
      },
    },
    (req) => anatomyPage(db, req.params.name, req.query),
  );

  app.get<{ Params: { name: string } }>(
    '/api/experiments/:name/analyses',
    { schema: { params: nameParam, querystring: { type: 'object', additionalProperties: false } } },
    (req) => analysesPage(db, req.params.name),
  );

  app.get('/api/schema', { schema: { querystring: { type: 'object', additionalProperties: false } } }, () => schemaPage(db));

  app.post<{ Body: { sql: string } }>(
    '/api/query',
    { schema: { body: { type: 'object', properties: { sql: { type: 'string', maxLength: 100_000 } }, required: ['sql'], additionalProperties: false } } },
    (req) => queryPage(db.name, req.body.sql, opts.queryTimeLimitMs),
  );

  // ---------- live updates ----------
  const clients = new Set<ServerResponse>();
  let version = db.pragma('data_version', { simple: true }) as number;
  const send = (res: ServerResponse, event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const poll = setInterval(() => {
    let v: number;
    try {
      v = db.pragma('data_version', { simple: true }) as number;
    } catch {
      return; // a busy moment of the writer; the next tick sees the commit
    }
    if (v !== version) {
      version = v;
      for (const res of clients) send(res, 'change', { version: v });
    }
  }, opts.pollMs ?? 250);
  poll.unref();
  const ping = setInterval(() => {
    for (const res of clients) res.write(': ping\n\n');
  }, 15_000);
  ping.unref();

  app.get('/api/events', (req, reply: FastifyReply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'Content-Security-Policy': CSP });
    send(res, 'hello', { version });
    clients.add(res);
    req.raw.on('close', () => clients.delete(res));
  });

  app.addHook('onClose', async () => {
    clearInterval(poll);
    clearInterval(ping);
    for (const res of clients) res.end();
    clients.clear();
  });
  return app;
}

/** Open the database read-only and serve the dashboard; resolves once it listens. */
export async function startUi(opts: UiOptions): Promise<UiServer> {
  const port = opts.port ?? DEFAULT_PORT;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UserError(`--port must be a whole number from 0 to 65535 (got ${port})`);
  const host = opts.host ?? DEFAULT_HOST;
  const limit = opts.queryTimeLimitMs;
  if (limit !== undefined && !(Number.isFinite(limit) && limit > 0))
    throw new UserError(`--query-timeout must be a positive number of seconds (got ${limit / 1000})`);
  const db = openReadOnly(opts.db);
  let app: FastifyInstance;
  try {
    app = buildApp(db, opts);
    await app.listen({ host, port });
  } catch (e) {
    db.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UserError(`port ${port} on ${host} is in use — pass another --port (0 picks a free one)`);
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
      throw new UserError(`cannot listen on host "${host}" — pass --host 127.0.0.1 or an address of this machine`);
    throw e;
  }
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${actualPort}/`,
    app,
    async close() {
      await app.close();
      db.close();
    },
  };
}
