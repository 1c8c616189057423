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

test('--set indexes arrays by number: a field of an element, or the element; a bad index names the --set and the length', () => {
  const raw = { name: 'x', strategies: ['rewind', { reset: 'random-reinit' }], branches: [{ kind: 'supermask', levels: [1] }] };
  assert.deepEqual(applySets(raw, ['strategies.1.reset=lr-rewind', 'branches.0.levels=[1,2]', 'strategies.0=fine-tune']), {
    name: 'x',
    strategies: ['fine-tune', { reset: 'lr-rewind' }],
    branches: [{ kind: 'supermask', levels: [1, 2] }],
  });
  assert.deepEqual(raw.strategies[1], { reset: 'random-reinit' }, 'the input is not changed');
  // the resolved spec takes them
  const spec = validateSpec(applySets(raw, ['strategies.1.mask0=freeze-init']), 's').spec;
  assert.equal(spec.strategies[1].mask0, 'freeze-init');
  assert.throws(
    () => applySets(raw, ['strategies.2.reset=rewind']),
    /^UserError: --set strategies\.2\.reset=rewind: strategies has 2 elements, so "2" is not an index of it: give 0 to 1, or set the whole array \(--set strategies=\[…\]\)$/,
  );
  assert.throws(
    () => applySets(raw, ['branches.first.levels=[1]']),
    /--set branches\.first\.levels=\[1\]: branches has 1 element, so "first" is not an index of it: give 0 to 0/,
  );
  assert.throws(() => applySets({ name: 'x' }, ['branches.0.levels=[1]']), /--set branches\.0\.levels=\[1\]: the spec has no branches, so it has no element 0/);
  // a chain written as a string is not a section: the message says how to write it whole
  assert.throws(
    () => applySets(raw, ['strategies.0.reset=rewind@2it']),
    /--set strategies\.0\.reset=rewind@2it: strategies\.0 is "rewind", not a section: set it whole \(e\.g\. --set 'strategies\.0=\{"reset":"rewind@2it"\}'\)/,
  );
});

test('a name that is not one of a list says which one was probably meant', () => {
  assert.throws(
    () => validateSpec({ name: 'x', model: { name: 'lenet-300' } }, 's'),
    /model\.name: "lenet-300" is not one of "lenet-300-100", .*: did you mean "lenet-300-100"\?$/,
  );
  assert.throws(() => validateSpec({ name: 'x', model: { name: 'resnet20' } }, 's'), /: did you mean "resnet-20"\?$/);
  assert.throws(
    () => validateSpec({ name: 'x', data: { dataset: 'fashion_mnist' } }, 's'),
    /data\.dataset: "fashion_mnist" is not one of .*: did you mean "fashion-mnist"\?/,
  );
  // nothing close: the list alone
  assert.throws(
    () => validateSpec({ name: 'x', model: { name: 'transformer' } }, 's'),
    (e: Error) => /is not one of "lenet-300-100"/.test(e.message) && !e.message.includes('did you mean'),
  );
});
