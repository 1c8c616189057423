/**
 * Rewrites README.md's table of the names a spec accepts (models, data sets, reset strategies,
 * criteria, mask-0 actions, branch kinds) from the registries; test/registry.test.ts fails
 * while the README is stale.
 *
 *   npx tsc -p . && node dist/scripts/readme-catalog.js
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withCatalog } from '../src/cli/index.js';

const path = fileURLToPath(new URL('../../README.md', import.meta.url));
const before = readFileSync(path, 'utf8');
const after = withCatalog(before);
if (after !== before) writeFileSync(path, after);
process.stdout.write(after === before ? 'README.md catalog is up to date\n' : 'README.md catalog rewritten\n');
