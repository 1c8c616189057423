import type { CommandModule } from 'yargs';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module has its own argument type
type AnyCommand = CommandModule<any, any>;

/**
 * Every CLI command by name, in the order `lth --help` lists them, each loaded on demand: a
 * process loads only the command it runs (with its libraries), which keeps `lth status`,
 * `lth report` or a refused spec from paying for the training stack's start-up.
 */
export const commandLoaders: Record<string, () => Promise<AnyCommand>> = {
  run: async () => (await import('./run.js')).run,
  spec: async () => (await import('./spec.js')).spec,
  status: async () => (await import('./status.js')).status,
  report: async () => (await import('./report.js')).command,
  plot: async () => (await import('./plot.js')).command,
  compare: async () => (await import('./compare.js')).command,
  analyze: async () => (await import('./analyze.js')).analyze,
  query: async () => (await import('./query.js')).command,
  export: async () => (await import('./export.js')).command,
  'export-model': async () => (await import('./export-model.js')).exportModelCmd,
  ui: async () => (await import('./ui.js')).ui,
  plan: async () => (await import('./plan.js')).plan,
  merge: async () => (await import('./merge.js')).merge,
  datasets: async () => (await import('./datasets.js')).datasets,
  bench: async () => (await import('./bench.js')).bench,
  doctor: async () => (await import('./doctor.js')).doctor,
  rm: async () => (await import('./rm.js')).rm,
};

/**
 * The commands yargs needs for `argv`: only the one named by its first word when that is a
 * command, else all of them (for `lth --help`, a typo's "did you mean", or options before the
 * command).
 */
export async function commandsFor(argv: readonly string[]): Promise<AnyCommand[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first !== undefined && Object.hasOwn(commandLoaders, first)) return [await commandLoaders[first]()];
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}
