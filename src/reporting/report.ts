import { DEFAULT_METRICS, summarizeExperiment } from './aggregate.js';
import { type Db, withDb } from './db.js';
import { type Format, checkFormat, renderReport } from './format.js';

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
