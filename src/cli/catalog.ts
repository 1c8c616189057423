import { DATASET_DEFS } from '../data/index.js';
import { MODEL_NAMES, modelHelp } from '../models/index.js';
import { CRITERIA, DURING_PRUNERS, UNIT_CRITERIA } from '../pruning/index.js';
import { branchSchema } from '../spec/index.js';
import { MASK0 } from '../mask0/index.js';
import { describeResets } from '../resets/index.js';

/** One registry as (name, help) rows, under the spec field that takes the name. */
export interface CatalogSection {
  readonly title: string;
  readonly field: string;
  readonly entries: readonly { readonly name: string; readonly help: string }[];
}

/**
 * Every name a spec may use, read from the registries themselves (models, data sets, reset
 * strategies, criteria, during-training pruners, mask-0 actions, branch kinds): what `lth run --help` lists and what
 * test/registry.test.ts checks the README against.
 */
export function catalog(): CatalogSection[] {
  return [
    { title: 'models', field: 'model.name', entries: MODEL_NAMES.map((name) => ({ name, help: modelHelp(name) })) },
    { title: 'data sets', field: 'data.dataset', entries: DATASET_DEFS.map((d) => ({ name: d.name, help: d.help })) },
    { title: 'reset strategies', field: 'strategies[].reset', entries: describeResets().map((d) => ({ name: d.name, help: d.describe })) },
    { title: 'mask criteria', field: 'pruning.criterion', entries: Object.entries(CRITERIA).map(([name, c]) => ({ name, help: c.help })) },
    {
      title: 'pruning during training',
      field: 'strategies[].during.kind',
      entries: DURING_PRUNERS.map((d) => ({
        name: d.kind,
        help: `${d.schema.description ?? ''}; as a chain string: ${d.shorthands.map((s) => `"${s.form}"`).join(', ')}`,
      })),
    },
    { title: 'unit criteria', field: 'pruning.unitCriterion', entries: Object.entries(UNIT_CRITERIA).map(([name, c]) => ({ name, help: c.help })) },
    { title: 'mask-0 actions', field: 'strategies[].mask0', entries: Object.entries(MASK0).map(([name, m]) => ({ name, help: m.describe })) },
    { title: 'branch kinds', field: 'branches[].kind', entries: branchSchema.options.map((o) => ({ name: o.shape.kind.value, help: o.description ?? '' })) },
  ];
}

/** The catalog as plain text for a --help epilogue. */
export function catalogText(): string {
  return catalog()
    .map((s) => `${s.title} (${s.field}):\n${s.entries.map((e) => `  ${e.name} — ${e.help}`).join('\n')}`)
    .join('\n\n');
}

export const README_START = '<!-- catalog: generated from the registries by scripts/readme-catalog.ts; do not edit by hand -->';
export const README_END = '<!-- /catalog -->';

/** The catalog as the README's markdown table (between README_START and README_END). */
export function catalogMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = catalog().flatMap((s) => s.entries.map((e) => `| \`${s.field}\` | \`${e.name}\` | ${cell(e.help)} |`));
  return [README_START, '| field | name | what it is |', '| --- | --- | --- |', ...rows, README_END].join('\n');
}

/** README text with its catalog block replaced by the current one. @throws Error when the markers are missing. */
export function withCatalog(readme: string): string {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README lacks the catalog markers ${README_START} … ${README_END}`);
  return readme.slice(0, a) + catalogMarkdown() + readme.slice(b + README_END.length);
}
