import type { CommandModule } from 'yargs';
import { COMPUTE_VERSION, EXTENDABLE, loadSpec, describeSpec } from '../../spec/index.js';
import { describeResets } from '../../resets/index.js';

export interface Args {
  file?: string;
  set: string[];
}

/** `lth spec`: every field of a spec; `lth spec FILE`: the resolved spec, checked, and its identity. */
export const spec: CommandModule<object, Args> = {
  command: 'spec [file]',
  describe: 'every spec field with its type, default and help; with a FILE, the resolved spec and its identity',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'JSON spec to resolve and check, e.g. experiments/quickstart.json' })
      .option('set', { type: 'string', array: true, default: [], describe: 'override a spec field: path=value (repeatable), as for lth run' })
      .example('$0 spec', 'every field')
      .example('$0 spec experiments/quickstart.json --set pruning.levels=3', 'what lth run would run, and its identity'),
  handler: async (a) => {
    if (a.file === undefined) {
      const rows = describeSpec();
      const out = rows.map((r) => `${r.path}\n    ${r.type}${r.default ? `, default ${r.default}` : ''}${r.help ? `\n    ${r.help}` : ''}\n`);
      const resets = describeResets().map((d) => `  ${d.name}: ${d.describe}`);
      process.stdout.write(
        `Spec fields (a JSON object; only "name" is required). Paths are as --set takes them; [] is a list element, (kind=…) a variant.\n\n${out.join('')}\nReset strategies (strategies[].reset):\n${resets.join('\n')}\n`,
      );
      return;
    }
    const loaded = loadSpec(a.file, a.set);
    // Loaded only now: the check builds the model, which imports tfjs.
    const { checkSpec } = await import('../../spec/index.js');
    const checked = checkSpec(loaded);
    process.stdout.write(`${JSON.stringify(JSON.parse(loaded.json), null, 2)}\n`);
    process.stdout.write(
      `identity ${loaded.hash} (compute version ${COMPUTE_VERSION}; excludes name, description and how far it goes: ${EXTENDABLE.join(', ')})\n`,
    );
    for (const w of checked.warnings) process.stderr.write(`lth: warning: ${w}\n`);
  },
};
