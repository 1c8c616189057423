import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATASET_NAMES } from '../src/data/index.js';
import { MODEL_NAMES } from '../src/models/index.js';
import { resetNames } from '../src/resets/index.js';
import { applySets, parseStep, PRUNING_CRITERIA, validateSpec } from '../src/spec/index.js';
import { closest } from '../src/util/index.js';

test('steps read as iterations or epochs', () => {
  assert.deepEqual(parseStep('2000it'), { value: 2000, unit: 'it' });
  assert.deepEqual(parseStep('40ep'), { value: 40, unit: 'ep' });
  assert.deepEqual(parseStep(300), { value: 300, unit: 'it' });
  assert.throws(() => parseStep('40 epochs'), /not of the form "2000it" or "40ep"/);
});

test('a step field refuses a number without its unit (20 iterations or 20 epochs?), naming the field and both forms; 0 needs none', () => {
  const refused = (iterations: unknown, message: string) =>
    assert.throws(
      () => validateSpec({ name: 'x', training: { iterations } }, 's.json'),
      (e: Error) => e.message === `invalid spec s.json: training.iterations: ${message}`,
    );
  refused(20, '20 has no unit: write "20it" (iterations) or "20ep" (epochs)');
  refused('20', '"20" has no unit: write "20it" (iterations) or "20ep" (epochs)');
  refused(2.5, '2.5 has no unit: write "2.5ep" (epochs; iterations are whole)');
  // every step field, not only training.iterations
  assert.throws(() => validateSpec({ name: 'x', training: { evalEvery: 10 } }, 's.json'), /training\.evalEvery: 10 has no unit/);
  assert.throws(
    () => validateSpec({ name: 'x', strategies: [{ reset: 'rewind', during: { kind: 'dynamic', regrow: 'random', every: 50 } }] }, 's.json'),
    /strategies\.0\.during\.every: 50 has no unit/,
  );
  const steps = (training: object) => validateSpec({ name: 'x', training }, 's.json').spec.training;
  assert.deepEqual(steps({ iterations: '20it', warmup: 0 }).iterations, { value: 20, unit: 'it' });
  assert.deepEqual(steps({ warmup: 0 }).warmup, { value: 0, unit: 'it' }, '0 is 0 in either unit');
  assert.deepEqual(steps({ iterations: '2ep' }).iterations, { value: 2, unit: 'ep' });
  assert.deepEqual(steps({ iterations: { value: 20, unit: 'it' } }).iterations, { value: 20, unit: 'it' }, 'the resolved form, as stored, still reads');
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
  assert.throws(() => validateSpec({ name: 'x', trainig: {} }, 's.json'), /^UserError: invalid spec s.json: trainig: unknown field: did you mean training\? /);
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

test('far typos of a name are pointed at it too, where one name fits: punctuation and case ignored, a prefix, an abbreviation', () => {
  const meant = (list: readonly string[], typed: Record<string, string | undefined>) =>
    assert.deepEqual(Object.fromEntries(Object.keys(typed).map((t) => [t, closest(t, list)])), typed);
  meant(MODEL_NAMES, {
    lenet300: 'lenet-300-100',
    'LeNet-300-100': 'lenet-300-100',
    resnet20: 'resnet-20',
    ResNet_110: 'resnet-110',
    vgg19: 'vgg-19',
    vgg16bn: 'vgg-16',
    mlp: 'mlp-small',
    // as near to several (vgg-11, vgg-16, vgg-19; resnet-20, resnet-56): none
    'vgg-18': undefined,
    resnet50: undefined,
    lenet5: undefined,
    alexnet: undefined,
  });
  meant(DATASET_NAMES, { fashion_mnist: 'fashion-mnist', fmnist: 'fashion-mnist', FashionMNIST: 'fashion-mnist', 'cifar-10': 'cifar10', imagenet: undefined });
  meant(resetNames(), { rewnd: 'rewind', lr_rewind: 'lr-rewind', finetune: 'fine-tune' });
  meant(PRUNING_CRITERIA, { 'large-final': 'large_final', snp: 'snip' });
  // two letters swapped are one edit; a short name far from all is close to none
  meant(['name', 'init', 'width'], { nmae: 'name', widht: 'width', nope: undefined });
  // the spec's messages
  assert.throws(
    () => validateSpec({ name: 'x', model: { name: 'lenet300' } }, 's'),
    /model\.name: "lenet300" is not one of .*: did you mean "lenet-300-100"\?$/,
  );
  assert.throws(
    () => validateSpec({ name: 'x', data: { dataset: 'fmnist' } }, 's'),
    /data\.dataset: "fmnist" is not one of .*: did you mean "fashion-mnist"\?/,
  );
});

test('an unknown field is refused in one line naming its path, and the field it probably meant', () => {
  const refused = (raw: Record<string, unknown>, msg: string) =>
    assert.throws(
      () => validateSpec({ name: 'x', ...raw }, 's'),
      (e: Error) => {
        assert.equal(e.message, `invalid spec s: ${msg}`);
        return true;
      },
    );
  refused({ trainning: { iterations: '10it' } }, 'trainning: unknown field: did you mean training? (lth spec lists every field)');
  refused({ training: { iteratons: '10it' } }, 'training.iteratons: unknown field: did you mean training.iterations? (lth spec lists every field)');
  refused({ training: { batch_size: 10 } }, 'training.batch_size: unknown field: did you mean training.batchSize? (lth spec lists every field)');
  // inside a union, the variant written: sgd's fields, the file model's, the chain object's
  refused(
    { training: { optimizer: { name: 'sgd', momentun: 0.9 } } },
    'training.optimizer.momentun: unknown field: did you mean training.optimizer.momentum? (lth spec lists every field)',
  );
  refused({ model: { file: 'a.json', wieghts: 'pretrained' } }, 'model.wieghts: unknown field: did you mean model.weights? (lth spec lists every field)');
  refused(
    { strategies: [{ reset: 'rewind', ticket: { experiment: 'a', chain: 'rewind', level: 1, tiral: 1 } }] },
    'strategies.0.ticket.tiral: unknown field: did you mean strategies.0.ticket.trial? (lth spec lists every field)',
  );
  refused({ branches: [{ kind: 'instability', pionts: 3 }] }, 'branches.0.pionts: unknown field: did you mean branches.0.points? (lth spec lists every field)');
  // the field it meant is there too
  refused(
    { training: { iterations: '10it', iteratons: '20it' } },
    'training.iteratons: unknown field: did you mean training.iterations? (the spec already sets training.iterations: remove training.iteratons)',
  );
  // nothing close: the section's fields; the other unknown fields by path
  refused(
    { pruning: { sample: { foo: 1 } }, bar: 1, trainng: {} },
    "pruning.sample.foo: unknown field (pruning.sample's fields: size, seed; lth spec explains them) (also: bar; trainng)",
  );
  refused(
    { xyzzy: 1 },
    'xyzzy: unknown field (the fields of a spec: name, description, seed, trials, recipe, data, model, training, pruning, strategies, branches; lth spec explains them)',
  );
});
