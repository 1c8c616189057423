#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { didYouMean, UserError, fileErrorLine } from '../util/index.js';
import { commandLoaders, commandsFor } from './commands/index.js';

/** The `lth` command line. Every command is a thin layer over the library in src/. */
export async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('lth')
    .usage('$0 <command> [options]\n\nLottery-ticket experiments: train, prune, reset, retrain; every level logged to SQLite.')
    .strict()
    .demandCommand(1, 'give a command, e.g. lth run experiments/quickstart.json')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, yargs().terminalWidth()))
    .example('$0 run experiments/quickstart.json', 'run (or resume) the quickstart')
    .example('$0 report quickstart --format markdown', 'mean ± std per strategy and level')
    .example('$0 plot quickstart --out results/quickstart.png', 'accuracy vs % weights remaining')
    .epilogue('Docs: README.md, docs/SCHEMA.md. Defaults follow Frankle & Carbin (2019).')
    // yargs passes its instance as a second argument, which @types/yargs does not declare
    .middleware(((a: Record<string, unknown>, y: { getOptions(): ParsedOptions }) => refuseRepeated(a, y.getOptions(), argv)) as never, true)
    .fail((msg, err) => {
      throw err ?? new UserError(`${oneLine(unknownAsTyped(msg, argv), argv)} (see ${helpFor(argv)})`);
    });
  for (const c of await commandsFor(argv)) cli = cli.command(c as never);
  await cli.parseAsync();
}

/** The part of yargs' `getOptions()` that says which options exist, repeat, and alias. */
interface ParsedOptions {
  key: Record<string, unknown>;
  array: string[];
  alias: Record<string, string[]>;
}

/**
 * An option that takes one value, given more than once (`--db a.db --db b.db`): one line naming
 * it, before any work. Taking the last in silence could write into a database the user did
 * not mean; options declared as arrays (`--set`, `--strategy`) repeat by design.
 */
function refuseRepeated(parsed: Record<string, unknown>, options: ParsedOptions, argv: string[]): void {
  const aliasOf = new Set(Object.values(options.alias).flat());
  for (const key of Object.keys(options.key)) {
    const v = parsed[key];
    if (aliasOf.has(key) || options.array.includes(key) || !Array.isArray(v)) continue;
    const names = [key, ...(options.alias[key] ?? [])].map((k) => (k.length === 1 ? `-${k}` : `--${k}`));
    const typed = names.filter((n) => argv.some((a) => a === n || a.startsWith(`${n}=`)));
    throw new UserError(
      `${(typed.length ? typed : names.slice(0, 1)).join(' / ')} given ${v.length} times (${v.map(String).join(', ')}): it takes one value; give it once`,
    );
  }
}

/** yargs' messages as one line: "Did you mean run?" names what was typed; multi-line blocks
 *  ("Invalid values:\n  Argument: …") are joined. */
function oneLine(msg: string, argv: string[]): string {
  const m = /^Did you mean (\S+)\?$/.exec(msg.trim());
  if (m) return `unknown command "${argv.find((a) => !a.startsWith('-')) ?? ''}": did you mean "lth ${m[1]}"?`;
  const line = msg
    .trim()
    .replace(/:?\s*\n\s*/g, ': ')
    .replace(/\s+/g, ' ');
  // a value not among an option's choices (--backend wsam): the one probably meant
  const choice = /Given: "([^"]*)", Choices: ((?:"[^"]*"(?:, )?)+)$/.exec(line);
  if (!choice) return line;
  const choices = [...choice[2].matchAll(/"([^"]*)"/g)].map((c) => c[1]);
  return line + didYouMean(choice[1], choices);
}

const names = new Set(Object.keys(commandLoaders));

/** `lth CMD --help` for the command named in argv, else `lth --help`. */
function helpFor(argv: string[]): string {
  const cmd = argv.find((a) => !a.startsWith('-'));
  return cmd !== undefined && names.has(cmd) ? `lth ${cmd} --help` : 'lth --help';
}

/**
 * yargs lists an unknown `--bogus-flag` under both its keys ("bogus-flag, bogusFlag");
 * name each unknown argument once, as the user typed it.
 */
function unknownAsTyped(msg: string, argv: string[]): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return msg;
  const camel = (s: string) => s.replace(/-+([^-])/g, (_, c: string) => c.toUpperCase());
  const typed = new Set<string>();
  let allOptions = true;
  for (const key of m[1]!.split(', ')) {
    const opt = argv.find((a) => {
      const name = /^-+([^=]*)/.exec(a)?.[1];
      return name !== undefined && (name === key || camel(name) === key);
    });
    if (opt === undefined) allOptions = false;
    typed.add(opt === undefined ? key : opt.split('=')[0]!);
  }
  const list = [...typed].join(', ');
  const kind = allOptions ? 'option' : 'argument';
  return typed.size === 1 ? `unknown ${kind} ${list}` : `unknown ${kind}s ${list}`;
}

// Warnings (the native backend unavailable, the threaded wasm backend not loading) are one lth
// line each, without Node's "(node:PID) Warning:" prefix and its --trace-warnings hint.
process.removeAllListeners('warning');
process.on('warning', (w) => process.stderr.write(`lth: warning: ${w.message}\n`));
// A reader that stops early (`lth query … | head`) closes the pipe: stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
main(hideBin(process.argv)).catch((e: unknown) => {
  const err = e as Error;
  const fileLine = fileErrorLine(e);
  if (err instanceof UserError || err?.name === 'UserError') {
    process.stderr.write(`lth: error: ${err.message}\n`);
    process.exitCode = 2;
  } else if (fileLine) {
    process.stderr.write(`lth: error: ${fileLine}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`lth: internal error: ${err?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
});
