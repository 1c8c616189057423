import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

test("the package's own name resolves to the library API the CLI uses", async () => {
  const lth = await import('lth');
  assert.equal(typeof lth.runExperiment, 'function');
  assert.equal(typeof lth.loadSpec, 'function');
  const spec = lth.loadSpec(join(process.cwd(), 'experiments', 'quickstart.json'));
  assert.equal(spec.spec.name, 'quickstart');
  assert.equal(spec.spec.data.dataset, 'fashion-mnist');
});
