import type { CommandModule } from 'yargs';

export interface Args {
  json: boolean;
  verbose: boolean;
}

export const doctor: CommandModule<object, Args> = {
  command: 'doctor',
  describe: 'which backends load here, on which device, and how to fix the ones that do not',
  builder: (y) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('verbose', { type: 'boolean', default: false, describe: "also show Dawn's and Mesa's own messages (Vulkan, EGL) on stderr" })
      .example('$0 doctor', 'a table (backend, loads, device, package) within 100 columns, each problem and its fix below it')
      .example('$0 doctor --json', 'the same as JSON (with the CUDA/cuDNN library check)'),
  handler: async (a) => {
    const { runDoctor, formatDoctor } = await import('../../backend/index.js');
    const { toTerminal } = await import('../../reporting/format.js');
    const report = await runDoctor({ verbose: a.verbose });
    if (a.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(formatDoctor(report, toTerminal));
    // loud on stderr too, where a redirected stdout would hide it
    for (const w of report.warnings) process.stderr.write(`lth doctor: WARNING: ${w}\n`);
  },
};
