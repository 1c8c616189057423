import Table from 'cli-table3';

/** `lth status --plan DIR` (src/cluster/status.ts). */
export async function printPlanStatus(dir: string): Promise<void> {
  const { planStatus } = await import('../../cluster/status.js');
  const s = planStatus(dir);
  const plain = !process.stdout.isTTY;
  const t = new Table({ head: ['task', 'state', 'rows', 'jobs'], style: plain ? { head: [], border: [] } : {} });
  for (const k of s.tasks) t.push([`${k.phase}:${k.index}`, k.state, `${k.rows}/${k.expected}`, k.jobs]);
  process.stdout.write(`${s.experiment}: plan ${s.dir}\n${t.toString()}\n`);
  const count = (st: string) => s.tasks.filter((k) => k.state === st).length;
  process.stdout.write(`${count('done')} done, ${count('partial')} partial, ${count('missing')} missing of ${s.tasks.length} task(s)\n`);
  if (s.resubmit.length)
    process.stdout.write(`resubmit the tasks not done (partial ones resume after their last stored level):\n${s.resubmit.map((l) => `  ${l}`).join('\n')}\n`);
  else process.stdout.write(`every task is done: lth merge ${s.dir}/shards/*.db --into results/lth.db\n`);
}
