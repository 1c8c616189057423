import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySets, parseStep, validateSpec } from '../src/spec/index.js';

test('steps read as iterations or epochs', () => {
  assert.deepEqual(parseStep('2000it'), { value: 2000, unit: 'it' });
  assert.deepEqual(parseStep('40ep'), { value: 40, unit: 'ep' });
  assert.deepEqual(parseStep(300), { value: 300, unit: 'it' });
  assert.throws(() => parseStep('40 epochs'), /not of the form "2000it" or "40ep"/);
});

test('defaults are Frankle & Carbin LeNet-300-100 on MNIST', () => {
  const { spec } = validateSpec({ name: 'd' }, 'test');
  assert.equal(spec.data.dataset, 'mnist');
  assert.equal(spec.data.validation, 5000);
  assert.equal((spec.model as { name: string }).name, 'lenet-300-100');
  assert.deepEqual(spec.training.optimizer, { name: 'adam', lr: 1.2e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  assert.equal(spec.training.batchSize, 60);
  assert.deepEqual(spec.training.iterations, { value: 50000, unit: 'it' });
  assert.deepEqual(spec.pruning.rates, { conv: 0.1, fc: 0.2, output: 0.1 });
});

test('the identity hash covers the resolved spec, not name, description or how far it goes', () => {
  const a = validateSpec({ name: 'a' }, 't').hash;
  // defaults written out or not: the same resolved spec
  assert.equal(validateSpec({ name: 'b', description: 'x', training: { batchSize: 60, iterations: '50000it' } }, 't').hash, a);
  // how far: extendable, outside the hash
  assert.equal(validateSpec({ name: 'a', trials: 2, pruning: { levels: 9, targetPercent: 3 }, strategies: ['rewind', 'fine-tune'] }, 't').hash, a);
  assert.notEqual(validateSpec({ name: 'a', training: { batchSize: 30 } }, 't').hash, a);
  assert.notEqual(validateSpec({ name: 'a', seed: 1 }, 't').hash, a);
});

test('a resolved spec re-validates to itself (stored specs can be re-run)', () => {
  const first = validateSpec({ name: 'r', training: { iterations: '3ep' }, strategies: ['rewind@100it', { reset: 'rewind', criterion: 'movement' }] }, 't');
  const again = validateSpec(JSON.parse(first.json), 't');
  assert.equal(again.json, first.json);
  assert.equal(again.hash, first.hash);
});

test('mistakes are one clear message naming the field', () => {
  assert.throws(() => validateSpec({ name: 'x', trainig: {} }, 's.json'), /invalid spec s.json: \(top level\): unknown field "trainig"/);
  assert.throws(() => validateSpec({ name: 'x', training: { batchSize: '60' } }, 's'), /training.batchSize: /);
  assert.throws(() => validateSpec({ name: 'x', training: { iterations: '10 epochs' } }, 's'), /training.iterations: step "10 epochs" is not of the form/);
  assert.throws(() => validateSpec({}, 's'), /name: /);
  assert.throws(() => validateSpec({ name: 'bad name!' }, 's'), /name: use letters/);
});

test('--set overrides nested fields, parsing JSON values', () => {
  const raw = applySets({ name: 'x', training: { batchSize: 60 } }, [
    'training.batchSize=30',
    'pruning.levels=3',
    'training.iterations=2ep',
    'strategies=["rewind","fine-tune"]',
  ]);
  assert.deepEqual(raw, { name: 'x', training: { batchSize: 30, iterations: '2ep' }, pruning: { levels: 3 }, strategies: ['rewind', 'fine-tune'] });
  assert.throws(() => applySets({}, ['nothing']), /path=value/);
});
