import { closest, didYouMean } from '../util/index.js';

/**
 * The one line for an experiment name that `path` does not hold, the same for every command
 * and spec field that takes one (report, plot, compare, analyze, export, export-model, rm,
 * strategies[].ticket.experiment): the name probably meant (src/util/closest.ts), then the
 * names there are; with no name near, `otherwise` says what to do instead.
 *   no experiment "quickstrt" in results/lth.db: did you mean "quickstart"? (experiments: quickstart, tiny)
 *   no experiment "nope" in results/lth.db (experiments: quickstart, tiny): run it first with `lth run SPEC`
 *   no experiment "nope" in x.db: it has no experiments yet — run it first with `lth run SPEC`
 */
export function noExperiment(name: string, names: readonly string[], path: string, otherwise = 'run it first with `lth run SPEC`'): string {
  const head = `no experiment "${name}" in ${path}`;
  if (!names.length) return `${head}: it has no experiments yet — ${otherwise}`;
  const list = ` (experiments: ${names.join(', ')})`;
  return closest(name, names) !== undefined ? `${head}${didYouMean(name, names)}${list}` : `${head}${list}: ${otherwise}`;
}
