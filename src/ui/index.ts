/** The dashboard: `lth ui` serves it; tests and scripts may start it in-process. */
export { startUi, buildApp, isLoopback, DEFAULT_HOST, DEFAULT_PORT, type UiOptions, type UiServer } from './server.js';
export { QUERY_TIME_LIMIT_MS } from './data.js';
