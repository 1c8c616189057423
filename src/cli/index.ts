export { withCatalog } from './catalog.js';
