import Table from 'cli-table3';
import type { BenchReport } from './run.js';
import { formatSpeed } from './sparsity.js';

const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });

const num = (v: number | null | undefined, digits?: number): string => {
  if (v == null || Number.isNaN(v)) return '—';
  const d = digits ?? (Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0);
  return v.toFixed(d);
};

/** The report as plain-text tables (one per section that ran). */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const load = (k: string) => ((r.info[k] as number[] | undefined) ?? []).map((x) => x.toFixed(2)).join(' ');
  out.push(
    `lth bench ${r.info.quick ? '(quick: sizes too small for the numbers to mean anything) ' : ''}— ${r.info.date}, commit ${r.info.commit ?? '?'}, node ${r.info.node}, ${r.info.cores} cores (${r.info.cpu})`,
    `load average at start: ${load('loadavgStart')}; at end: ${load('loadavgEnd')}; LTH_WASM_THREADS=${r.info.wasmThreadsEnv ?? '(unset)'}`,
  );
  if (r.step.length) {
    const t = table(['training step, batch ' + r.info.batch, 'backend', 'median ms', 'p10', 'p90', 'steps', 'note']);
    for (const s of r.step) t.push([s.model, s.backend, num(s.ms), num(s.p10), num(s.p90), s.steps, s.note ?? '']);
    out.push(t.toString());
  }
  if (r.eval.length) {
    const t = table(['evaluation', 'backend', 'examples', 'examples/s', 'note']);
    for (const e of r.eval) t.push([e.model, e.backend, e.examples, num(e.examplesPerS, 0), e.note ?? '']);
    out.push(t.toString());
  }
  if (r.protocol?.length) {
    const t = table(['protocol level', 'backend', 'iterations', 'eval every', 'val+test', 'evaluations', 'level s', 'steps s', 'level/steps', 'note']);
    for (const x of r.protocol)
      t.push([
        x.model,
        x.backend,
        x.iterations,
        x.evalEvery,
        `${x.valExamples}+${x.testExamples}`,
        x.evaluations,
        num(x.levelS, 1),
        num(x.stepSumS, 1),
        num(x.ratio),
        x.note ?? '',
      ]);
    out.push(t.toString());
  }
  if (r.runs.length) {
    const t = table(['run', 'workers', 'backend', 'seconds', 'levels', 'levels/s', 'chain levels/s', 'peak RSS MB main', 'peak RSS MB workers', 'note']);
    for (const x of r.runs) {
      t.push([
        x.what,
        x.workers,
        x.backend,
        num(x.seconds, 1),
        x.levels,
        num(x.levelsPerS, 3),
        num(x.chainLevelsPerS, 3),
        num(x.mainRssMb, 0),
        x.workerRssMb.map((m) => m.toFixed(0)).join(', ') || '—',
        x.note ?? '',
      ]);
    }
    out.push(t.toString());
    if (r.speedup)
      out.push(
        `--workers 2 vs 1: ${num(r.speedup.endToEnd)}× levels/s end to end; ${num(r.speedup.chainPhase)}× over the chain phase (after the shared dense level)`,
      );
  }
  if (r.memory.length) {
    const t = table(['after level', 'live tensors', 'tensor MB', 'RSS MB']);
    for (const m of r.memory) t.push([m.level, m.numTensors, num(m.numBytes / 2 ** 20, 1), num(m.rssMb, 0)]);
    out.push(t.toString());
  }
  if (r.cluster) {
    const c = r.cluster;
    if (c.ratio !== undefined)
      out.push(
        `cluster: 8 chains (${c.levels} levels) through a local one-node Slurm with 2 task slots: ${num(c.slurmSeconds, 1)} s + merge ${num(c.mergeSeconds)} s, ` +
          `vs lth run --workers 2: ${num(c.workersSeconds, 1)} s → ${num(c.ratio)}× (target ≤ 1.2×)`,
      );
    if (c.split)
      out.push(
        `  Slurm's slot-seconds: ${c.split.runs} task runs, ${num(c.split.taskSeconds, 1)} s inside them (${num(c.split.startupSeconds, 1)} s of it process start-up), ` +
          `${num(c.split.idleSlotSeconds, 1)} s idle (scheduling, the chains array waiting for the whole dense array, submit)`,
      );
    else out.push(`cluster: ${c.note}`);
    out.push(`lth merge of ${c.merge1000.levels} levels (${c.merge1000.shards} shards, one weight file per level): ${num(c.merge1000.seconds)} s`);
  }
  if (r.sparsity) out.push(`sparsity: ${r.sparsity.source}`, formatSpeed(r.sparsity));
  return out.join('\n');
}
