/**
 * lth's reporting API: plain functions over an lth database (a better-sqlite3 handle or a path,
 * always opened read-only). The CLI commands report / plot / compare / query / export are thin
 * wrappers over these.
 */
export { DEFAULT_DB, openReadOnly, listExperiments, requireExperiment, type Db } from './db.js';
export {
  METRICS,
  METRIC_IDS,
  DEFAULT_METRICS,
  metricDef,
  loadLevels,
  summarize,
  summarizeExperiment,
  stat,
  seriesKey,
  type LevelRow,
  type MetricDef,
  type Series,
  type Stat,
  type Summary,
  type LevelSummary,
} from './aggregate.js';
export { FORMATS, type Format, renderReport, renderTabular, formatStat, formatPercent, type Tabular } from './format.js';
export { report, reportView, type ReportOptions } from './report.js';
export { compareStrategies, compareRows, pairedInterval, renderComparison, type Comparison, type CompareOptions, type LevelComparison } from './compare.js';
export { runQuery, renderQuery, prepareReadOnly, type QueryResult } from './query.js';
export {
  PLOT_KINDS,
  ERROR_BARS,
  PAPER_TICKS,
  figureSpec,
  renderSvg,
  svgToPng,
  plotSvg,
  plotExperiment,
  plotSpeed,
  checkPlotOut,
  type SpeedDatum,
  type PlotKind,
  type PlotOptions,
  type PlotResult,
  type ErrorBars,
} from './plot.js';
export { exportExperiment, type ExportedFile } from './export.js';
export { htmlReport, writeHtmlReport, type HtmlOptions } from './html.js';
export { storedNumberNotes, shownByMetrics, WRONG_LOSS_VERSIONS, type Shown } from './caveats.js';
export {
  anatomy,
  anatomySpec,
  jaccard,
  pixelCounts,
  profileSpec,
  pixelSpec,
  matrixSpec,
  type Anatomy,
  type AnatomyOptions,
  type OverlapMatrix,
  type PixelMap,
  type ProfilePoint,
} from './anatomy.js';
export { STORED_VIEWS, STORED_VIEW_IDS, analysisView, buildAnalysis, type AnalysisView, type AnalysisResult } from './analyses.js';
export { chainLevelMasks, type StoredMasks } from './masks.js';
export type { CompareMethod } from './compare.js';
