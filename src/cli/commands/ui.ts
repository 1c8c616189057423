import { spawn } from 'node:child_process';
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_HOST, DEFAULT_PORT, isLoopback, QUERY_TIME_LIMIT_MS, startUi } from '../../ui/index.js';
import { dbOption } from './common.js';

interface Args {
  db: string;
  port: number;
  host: string;
  open: boolean;
  'query-timeout': number;
}

/** Opens the URL in the desktop's browser when there is one; says so when there is none. */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`lth ui: could not start a browser (${cmd}); open ${url} yourself\n`));
  child.unref();
}

export const ui: CommandModule<object, Args> = {
  command: 'ui',
  describe: 'A live dashboard in the browser: experiments, figures, compare, ticket anatomy, SQL (read-only)',
  builder: (y) =>
    y
      .option('db', dbOption)
      .option('port', { alias: 'p', type: 'number', default: DEFAULT_PORT, describe: 'port to listen on (0: any free port)' })
      .option('host', { type: 'string', default: DEFAULT_HOST, describe: 'address to bind; anything but loopback exposes your results to the network' })
      .option('open', { type: 'boolean', default: false, describe: 'open the dashboard in the default browser' })
      .option('query-timeout', {
        type: 'number',
        default: QUERY_TIME_LIMIT_MS / 1000,
        describe: 'seconds one statement of the query page may run before it is stopped (the server keeps answering meanwhile)',
      })
      .example('$0 ui', 'serve results/lth.db at http://127.0.0.1:8765/')
      .example('$0 ui --db runs/sweep.db --port 9000 --open', 'another database, another port, open a browser') as unknown as Argv<Args>,
  handler: async (argv) => {
    if (!isLoopback(argv.host)) {
      process.stderr.write(
        `lth ui: warning: binding to ${argv.host} makes the dashboard (and read-only SQL on your results) reachable from other machines; use --host 127.0.0.1 to keep it local\n`,
      );
    }
    const server = await startUi({ db: argv.db, host: argv.host, port: argv.port, queryTimeLimitMs: argv['query-timeout'] * 1000 });
    process.stdout.write(`lth ui: serving ${argv.db} (read-only) at ${server.url} — Ctrl-C to stop\n`);
    if (argv.open) openBrowser(server.url);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
