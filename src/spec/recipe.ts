import { MODELS, type ModelDef } from '../models/index.js';

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `over` laid over `base`, object by object: a field `over` sets wins, arrays and other values
 * are replaced whole, and an object whose discriminator (`name`: the optimizer, `kind`: the
 * schedule) differs replaces the base object whole (an Adam optimizer takes none of SGD's fields).
 */
function overlay(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    const switched = isObject(b) && isObject(v) && ['name', 'kind'].some((d) => d in v && d in b && v[d] !== b[d]);
    out[k] = isObject(b) && isObject(v) && !switched ? overlay(b, v) : v;
  }
  return out;
}

/**
 * The raw spec with its model's recipe applied (ModelDef.recipe, declared once in the model's
 * file; OpenLTH's default_hparams): with `"recipe": "model"` every field of the recipe the spec
 * does not set; without it, only the recipe's `training.augment` (augmentation is on by default
 * for the models whose recipe names one). The spec's own fields and `--set` always win; the
 * resolved spec states every value, so `lth spec` shows what the recipe gave. A raw spec that is
 * not an object, or names no known model, is returned as is (the schema reports it).
 */
export function applyRecipe(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const name = isObject(raw.model) ? raw.model.name : undefined;
  const recipe = typeof name === 'string' ? (MODELS as Record<string, ModelDef>)[name]?.recipe : undefined;
  if (!recipe) return raw;
  if (raw.recipe === 'model') return overlay(recipe as Raw, raw);
  const augment = recipe.training?.augment;
  if (augment === undefined) return raw;
  return overlay({ training: { augment } }, raw);
}
