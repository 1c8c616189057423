import { DEFAULT_METRICS, summarizeExperiment } from './aggregate.js';
import { type Db, withDb } from './db.js';
import { buildAnalysis } from './analyses.js';
import { type Format, checkFormat, renderReport, renderTabular } from './format.js';

export interface ReportOptions {
  format?: Format;
  /** metric ids (see METRICS); default: test accuracy at early stop, early-stop iteration, final test accuracy */
  metrics?: string[];
}

/** `lth report`: the per-level table of one experiment, rendered in the requested format. */
export function report(db: Db | string, experiment: string, opts: ReportOptions = {}): string {
  const format = checkFormat(opts.format ?? 'table');
  return withDb(db, (h) => renderReport(summarizeExperiment(h, experiment, opts.metrics?.length ? opts.metrics : DEFAULT_METRICS), format));
}

/** `lth report EXP --view ID`: one analysis view's table (src/reporting/analyses.ts), rendered in the requested format. */
export function reportView(db: Db | string, experiment: string, view: string, format: Format = 'table'): string {
  const f = checkFormat(format);
  return withDb(db, (h) => renderTabular(buildAnalysis(h, experiment, view).table, f));
}
