import type { Argv, CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '../../backend/names.js';
import { UserError } from '../../util/index.js';
import { dbOption, parseStringList } from './common.js';
import { ANALYSES, ANALYSIS_NAMES, type AnalysisName } from '../../analyses/registry.js';

interface Args {
  analysis: AnalysisName;
  experiment: string;
  db: string;
  backend: BackendChoice;
  'data-dir'?: string;
  sigma?: string[];
  flip?: string[];
  quiet: boolean;
}

/** "0,0.5" → [0, 0.5], each checked against [lo, hi]. */
function amounts(v: string[] | undefined, flag: string, lo: number, hi: number): number[] | undefined {
  const parts = parseStringList(v);
  if (!parts) return undefined;
  const out = parts.map(Number);
  const bad = parts.filter((_, i) => !Number.isFinite(out[i]) || out[i] < lo || out[i] > hi);
  if (bad.length) throw new UserError(`${flag} takes numbers in [${lo}, ${hi}] like 0,0.5 (got ${bad.join(', ')})`);
  return out;
}

export const analyze: CommandModule<object, Args> = {
  command: 'analyze <analysis> <experiment>',
  describe: 'measure every stored level of an experiment with an analysis and store its table (resumable; a re-run adds nothing)',
  builder: (y) =>
    y
      .positional('analysis', {
        choices: ANALYSIS_NAMES,
        demandOption: true,
        describe: ANALYSIS_NAMES.map((n) => `${n}: ${ANALYSES[n]().help}`).join('; '),
      })
      .positional('experiment', { type: 'string', demandOption: true, describe: "the experiment's spec name" })
      .option('db', dbOption)
      .option('backend', { choices: BACKENDS, default: 'auto' as BackendChoice, describe: 'tensor backend (as lth run)' })
      .option('data-dir', { type: 'string', describe: 'folder with the data set files as distributed' })
      .option('sigma', { type: 'string', array: true, describe: 'noise: Gaussian σ values, in input standard deviations (default 0,0.25,0.5,1,2)' })
      .option('flip', { type: 'string', array: true, describe: 'noise: fractions of input values flipped (default 0.05,0.1,0.2,0.4)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress output' })
      .example('$0 analyze noise quickstart', 'test accuracy of every level under Gaussian noise and pixel flips; then lth report quickstart --metric noise')
      .example(
        '$0 analyze reinit quickstart',
        'per layer: accuracy with that layer reset to θ0 or redrawn; then lth report quickstart --metric reinit',
      ) as unknown as Argv<Args>,
  handler: async (a) => {
    const sigma = amounts(a.sigma, '--sigma', 0, Infinity);
    const flip = amounts(a.flip, '--flip', 0, 1);
    if ((sigma || flip) && a.analysis !== 'noise') throw new UserError(`--sigma and --flip are options of lth analyze noise, not of ${a.analysis}`);
    const { runAnalysis, noiseAnalysis, NOISE_AMOUNTS } = await import('../../analyses/index.js');
    const def = sigma || flip ? noiseAnalysis({ gaussian: sigma ?? NOISE_AMOUNTS.gaussian, flip: flip ?? NOISE_AMOUNTS.flip }) : undefined;
    const log = a.quiet ? undefined : (m: string) => process.stderr.write(`${m}\n`);
    const r = await runAnalysis(a.analysis, a.experiment, { db: a.db, backend: a.backend, data: { dataDir: a['data-dir'], log }, def, log });
    process.stdout.write(
      `${a.experiment}: ${a.analysis} measured ${r.measured} level(s), ${r.skipped} already stored; lth report ${a.experiment} --metric ${a.analysis}\n`,
    );
  },
};
