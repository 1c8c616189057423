import { join } from 'node:path';
import type { Sweep } from './sweep.js';
import type { Phase } from './tasks.js';

/** The environment variable the generated scripts set to the task's phase (`lth run --task auto`). */
export const PHASE_ENV = 'LTH_PLAN_PHASE';

/**
 * Exit code of a task stopped by SIGTERM (preemption, time limit, scancel) before it finished:
 * EX_TEMPFAIL of sysexits.h, "try again later". The batch script requeues itself on it after
 * Slurm's time-limit warning (SIGUSR1), not after a cancel; a Kubernetes podFailurePolicy
 * ignores it (the pod is replaced without counting a failure).
 */
export const REQUEUE_EXIT = 75;

/** 'it''s' → `'it'\''s'`: a word for sh. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One job array per phase. A stop has two causes, told apart by the signal the batch shell gets:
 *  - SIGUSR1, only from `--signal=B:USR1@120` (Slurm's warning 120 s before the time limit, to the
 *    batch shell only): the shell sends SIGTERM to lth, waits for it to drop the level in flight,
 *    and requeues the task when lth exits with REQUEUE_EXIT;
 *  - SIGTERM (a user's `scancel`, a preemption, the limit itself), which Slurm sends to lth as
 *    well: the shell waits for lth and does not requeue, so `scancel` cancels for good (state
 *    CANCELLED). A preemption with
 *    PreemptMode=REQUEUE, a node failure or `scontrol requeue` is requeued by Slurm itself
 *    (`--requeue` allows it).
 * Either way the next start of the task resumes after its last stored level.
 */
export function sbatchScript(plan: Sweep, dir: string, phase: Phase): string {
  const n = plan.tasks[phase].length;
  const s = plan.slurm;
  const throttle = s.maxParallel ? `%${s.maxParallel}` : '';
  const lines = [
    '#!/bin/bash',
    `# lth plan: phase "${phase}" of experiment "${plan.experiment}" (${n} task${n === 1 ? '' : 's'}), written by ${plan.lth}.`,
    `# Task i writes only ${join(dir, 'shards', `${phase}-i.db`)}; weight files go to ${join(dir, 'weights')}. docs/CLUSTER.md`,
    `#SBATCH --job-name=lth-${plan.experiment}-${phase}`.slice(0, 200),
    `#SBATCH --array=0-${n - 1}${throttle}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${s.cpusPerTask}`,
    ...(s.gpusPerTask ? [`#SBATCH --gpus-per-task=${s.gpusPerTask}`] : []),
    ...(s.partition ? [`#SBATCH --partition=${s.partition}`] : []),
    ...(s.time ? [`#SBATCH --time=${s.time}`] : []),
    '#SBATCH --requeue',
    '#SBATCH --signal=B:USR1@120',
    '#SBATCH --open-mode=append',
    `#SBATCH --output=${join(dir, 'logs', `${phase}-%a.out`)}`,
    '',
    `export ${PHASE_ENV}=${phase}`,
    '# one wasm thread pool per allocated CPU, not per CPU of the node',
    'export LTH_WASM_THREADS="${LTH_WASM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"',
    'echo "lth: task ${SLURM_ARRAY_TASK_ID} of job ${SLURM_ARRAY_JOB_ID} (job id ${SLURM_JOB_ID}, restart ${SLURM_RESTART_COUNT:-0}, shell pid $$) on $(hostname) at $(date -u +%FT%T.%3NZ)"',
    `${plan.command} run --plan ${shellQuote(dir)} --task auto &`,
    'lth_pid=$!',
    '# USR1: the time limit is 120 s away (--signal above): stop, then requeue',
    'requeue=0',
    'trap \'requeue=1; echo "lth: time limit near (SIGUSR1): stopping after the level in flight is dropped, then requeueing"; kill -TERM "$lth_pid" 2>/dev/null\' USR1',
    '# TERM: scancel, a preemption, a requeue by Slurm, or the limit itself. Slurm sends it to every',
    '# process of the job, lth included, so it is not forwarded (a second SIGTERM makes lth exit at',
    '# once); requeueing is left to Slurm (after USR1 the task still requeues itself)',
    'trap \'echo "lth: SIGTERM (scancel, preemption or the limit): lth stops too; not requeueing here"\' TERM',
    '# wait returns early when a trapped signal arrives: wait until lth itself has exited',
    'while :; do wait "$lth_pid"; rc=$?; kill -0 "$lth_pid" 2>/dev/null || break; done',
    "# the start and end times let `lth bench --only cluster` split a sweep's wall time (docs/CLUSTER.md#overhead)",
    'echo "lth: task ${SLURM_ARRAY_TASK_ID} ended (exit $rc) at $(date -u +%FT%T.%3NZ)"',
    `if [ "$rc" -eq ${REQUEUE_EXIT} ] && [ "$requeue" -eq 1 ]; then`,
    '  echo "lth: task stopped before it finished; requeueing job ${SLURM_JOB_ID}"',
    '  scontrol requeue "$SLURM_JOB_ID" && exit 0',
    'fi',
    'exit "$rc"',
    '',
  ];
  return lines.join('\n');
}

/** Submits the dense array, then the chains array once every dense task succeeded; prints both ids. */
export function submitScript(plan: Sweep): string {
  return [
    '#!/bin/sh',
    `# Submits the plan of "${plan.experiment}": the dense array, then the chains array after it (afterok). docs/CLUSTER.md`,
    'set -eu',
    'cd "$(dirname "$0")"',
    'dense=$(sbatch --parsable dense.sbatch)',
    'dense=${dense%%;*}',
    'chains=$(sbatch --parsable --dependency=afterok:"$dense" chains.sbatch)',
    'chains=${chains%%;*}',
    'echo "$(date -u +%FT%TZ) dense=$dense chains=$chains" >> jobs.log',
    'echo "dense: $dense"',
    'echo "chains: $chains"',
    '',
  ].join('\n');
}

/**
 * A Kubernetes Indexed Job (batch/v1, completionMode Indexed): pod i gets JOB_COMPLETION_INDEX=i.
 * The plan folder must be a ReadWriteMany volume mounted at the same path in every pod.
 * Exit code REQUEUE_EXIT and evictions (DisruptionTarget) do not count as failures: the pod is
 * replaced and resumes after its last stored level. Documented, not tested here (docs/CLUSTER.md).
 */
export function k8sJob(plan: Sweep, dir: string, phase: Phase, image = 'REPLACE-WITH-AN-IMAGE-WITH-NODE-AND-LTH'): Record<string, unknown> {
  const n = plan.tasks[phase].length;
  const s = plan.slurm;
  const name = `lth-${plan.experiment}-${phase}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 52);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      labels: {
        app: 'lth',
        experiment: plan.experiment
          .toLowerCase()
          .replace(/[^a-z0-9.-]/g, '-')
          .slice(0, 63),
        phase,
      },
    },
    spec: {
      completionMode: 'Indexed',
      completions: n,
      parallelism: s.maxParallel ?? n,
      backoffLimitPerIndex: 3,
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onExitCodes: { containerName: 'lth', operator: 'In', values: [REQUEUE_EXIT] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
        ],
      },
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'lth',
              image,
              command: ['sh', '-c', `${plan.command} run --plan ${shellQuote(dir)} --task auto`],
              env: [
                { name: PHASE_ENV, value: phase },
                { name: 'LTH_WASM_THREADS', value: String(s.cpusPerTask) },
              ],
              resources: {
                requests: { cpu: String(s.cpusPerTask) },
                limits: s.gpusPerTask ? { 'nvidia.com/gpu': String(s.gpusPerTask) } : {},
              },
              volumeMounts: [{ name: 'plan', mountPath: dir }],
            },
          ],
          volumes: [{ name: 'plan', persistentVolumeClaim: { claimName: 'lth-plan' } }],
        },
      },
    },
  };
}

export function k8sSubmitScript(plan: Sweep): string {
  return [
    '#!/bin/sh',
    `# Applies the Indexed Jobs of "${plan.experiment}" in order: chains start once every dense index completed. docs/CLUSTER.md`,
    'set -eu',
    'cd "$(dirname "$0")"',
    'kubectl apply -f dense.job.json',
    'dense=$(kubectl get -f dense.job.json -o jsonpath="{.metadata.name}")',
    'kubectl wait --for=condition=complete --timeout=-1s "job/$dense"',
    'kubectl apply -f chains.job.json',
    'echo "dense: $dense"',
    'echo "chains: $(kubectl get -f chains.job.json -o jsonpath="{.metadata.name}")"',
    '',
  ].join('\n');
}
