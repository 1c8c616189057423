/** The parts of src/reporting the dashboard reuses, so every number matches the CLI's. */
export { type Db, requireExperiment } from '../reporting/db.js';
export { DEFAULT_METRICS, loadLevels, metricDef, summarizeExperiment } from '../reporting/aggregate.js';
export { type Tabular, formatPercent, metricTable, reportCaption } from '../reporting/format.js';
export { compareRows, comparisonTable, type CompareOptions } from '../reporting/compare.js';
export { curveData, curvesSpec, defaultCurveLevels, levelSpec } from '../reporting/plot.js';
export { anatomy, matrixSpec, pixelSpec, profileSpec, type AnatomyOptions } from '../reporting/anatomy.js';
export { DASHBOARD_VIEWS } from './views.js';
export { QUERY_EXAMPLES, relations } from '../reporting/schema-info.js';
