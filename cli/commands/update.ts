// `borg update FILE`: shows what would change for each job in the file (a dry-run UpdateJob: the master's diff
// of desired state and the tasks it would restart), then applies the update and follows the rolling update
// until every task runs the new spec (or --no-wait). The request id names "this spec over that version", so
// running the command again after a lost answer changes nothing twice.
import { EXIT } from '../registry';
import { validateJobSpec } from '../../borgmaster/state/index';
import { evaluateFile } from '../../bcl/index';
import { BorgError, NotFound } from '../../model/errors';
import { formatJobId } from '../../model/ids';
import { TaskState, type JobSpec, type Task, type UpdateJobResponse } from '../../proto/index';
import { LIST_PAGE_SIZE_MAX, MAX_TASKS_PER_JOB } from '../../cells/limits';
import { CELL_FLAGS, HELP_FLAG, RPCS, allPages, cellConfig, defaultUser, defineCommand, expectPositionals, json, note, out, specDiff, taskStateName, updateRequestId, withCell, type CellClient } from '../lib/index';

const flags = {
  ...CELL_FLAGS,
  'dry-run': { kind: 'boolean', help: 'show the diff and the tasks that would restart, change nothing' },
  'no-wait': { kind: 'boolean', help: 'apply and return without following the rolling update' },
  'wait-timeout': { kind: 'duration', value: 'DURATION', help: 'stop following the rollout after this long (default 10m; exit 4)' },
  poll: { kind: 'duration', value: 'DURATION', help: 'how often to look at the rollout (default 500ms)' },
  ...HELP_FLAG,
} as const;

const DEFAULT_WAIT_MS = 10 * 60_000;
const DEFAULT_POLL_MS = 500;

interface Planned {
  spec: JobSpec;
  id: string;
  fromVersion: number;
  runningBefore: number;
  preview: UpdateJobResponse;
  applied?: UpdateJobResponse;
}

defineCommand(
  {
    name: 'update',
    summary: 'update jobs from a BCL file: show the diff, apply, follow the rolling update',
    usage: 'update FILE [options]',
    description: `For every job in FILE: asks the master for the diff between the job's current and new desired state
(nothing changes yet) and prints it with the tasks that would restart; then, unless --dry-run, applies the update
and shows the rolling update's progress (tasks restart at most max_tasks_down at a time) until every task runs
the new spec. Changes a running task takes in place restart nothing (B15 §2.3): priority, restart policy, health
check, kill grace, latency sensitivity, constraints its machine still meets, and cpu, ram and disk it still holds.`,
    examples: ['borg update examples/web.bcl --dry-run', 'borg update examples/web.bcl', 'borg update examples/web.bcl --no-wait --json'],
    flags,
    async run({ flags: f, positionals }) {
      const [file] = expectPositionals(positionals, ['FILE'], 0, 'borg update FILE');
      const config = cellConfig(f);
      // Checked here as the master will check them, so the diff compares like with like (defaults filled in).
      const jobs = evaluateFile(file as string, { cell: config.name, user: defaultUser(f.user) }).jobs.map((j, i) => validateJobSpec(j, `${file}: job ${j.name || i}`, config.name));
      if (jobs.length === 0) throw new BorgError('invalid_argument', `${file}: defines no jobs`);
      return withCell(
        f,
        async ({ client }) => {
          const planned: Planned[] = [];
          for (const spec of jobs) {
            const preview = await client.read(RPCS.updateJob, { requestId: '', spec, dryRun: true });
            const fromVersion = preview.job?.specVersion ?? 0;
            planned.push({ spec, id: formatJobId({ cell: spec.cell, user: spec.user, job: spec.name }), fromVersion, runningBefore: preview.job?.running ?? 0, preview });
            if (!f.json) printDiff(planned[planned.length - 1] as Planned);
          }
          if (!f['dry-run']) {
            for (const p of planned) {
              if (p.preview.diff === 'no change') continue;
              p.applied = await client.write(RPCS.updateJob, { requestId: updateRequestId(p.spec, p.fromVersion), spec: p.spec, dryRun: false });
              if (!f.json) out(`${p.id}: updated to version ${p.applied.job?.specVersion ?? '?'} at log index ${p.applied.logIndex}`);
            }
          }
          let unfinished: string[] = [];
          if (!f['dry-run'] && !f['no-wait']) unfinished = await follow(client, planned.filter((p) => p.applied !== undefined), f['wait-timeout'] ?? DEFAULT_WAIT_MS, f.poll ?? DEFAULT_POLL_MS, !f.json);
          if (f.json) {
            out(json(planned.map((p) => ({
              id: p.id,
              fromVersion: p.fromVersion,
              toVersion: p.applied?.job?.specVersion ?? (p.preview.diff === 'no change' ? p.fromVersion : undefined),
              changed: p.preview.diff !== 'no change',
              summary: p.preview.diff,
              diff: p.preview.job?.spec === undefined ? [] : specDiff(p.preview.job.spec, p.spec),
              restartedTaskIds: p.preview.restartedTaskIds,
              applied: p.applied !== undefined,
              logIndex: p.applied?.logIndex,
            }))));
          }
          if (unfinished.length > 0) {
            throw new BorgError('deadline_exceeded', `the rolling update did not finish within ${f['wait-timeout'] ?? DEFAULT_WAIT_MS}ms; it goes on in the cell (see borg tasks). Waiting on:\n  ${unfinished.join('\n  ')}`);
          }
          return EXIT.ok;
        },
        config,
      );
    },
  },
  true,
);

function printDiff(p: Planned): void {
  if (p.preview.diff === 'no change') {
    out(`${p.id}: no change (version ${p.fromVersion})`);
    return;
  }
  out(`${p.id}: version ${p.fromVersion} -> ${p.fromVersion + 1} (${p.preview.diff})`);
  const before = p.preview.job?.spec;
  if (before !== undefined) for (const line of specDiff(before, p.spec)) out(`  ${line}`);
  const n = p.preview.restartedTaskIds.length;
  out(n === 0 ? '  restarts no running task' : `  restarts ${n} running task${n === 1 ? '' : 's'}: ${p.preview.restartedTaskIds.map((t) => t.split('/').pop()).join(', ')}`);
}

/**
 * follow polls each updated job until every task is at the new spec version and as many tasks run healthy as ran
 * before the update (the master's rollout waits for each restarted task to be healthy too). Returns what the
 * rollouts still waited on when the wait ran out (empty when every one finished).
 */
async function follow(client: CellClient, updated: Planned[], waitMs: number, pollMs: number, talk: boolean): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  const last = new Map<string, string>();
  const waiting = new Map<string, string>();
  const open = new Set(updated);
  while (open.size > 0) {
    for (const p of [...open]) {
      const target = p.applied?.job?.specVersion ?? 0;
      let got;
      try {
        got = await client.read(RPCS.getJob, { user: p.spec.user, job: p.spec.name });
      } catch (e: unknown) {
        if (e instanceof BorgError && e.code === 'not_found') throw new NotFound(`job ${p.id} (it was killed during the update)`);
        throw e;
      }
      const taskCount = got.job?.spec?.taskCount ?? 0;
      // GetJob carries a job's first tasks only; page through the rest of a very large job.
      const tasks = got.tasks.length >= taskCount ? got.tasks : await allTasks(client, p.spec.user, p.spec.name);
      if ((got.job?.specVersion ?? 0) > target) {
        // Someone updated the job again; that rollout is theirs to follow.
        if (talk) note(`${p.id}: updated again to version ${got.job?.specVersion}; no longer following`);
        open.delete(p);
        continue;
      }
      const atNew = tasks.filter((t) => t.specVersion >= target);
      const running = atNew.filter((t) => t.state === TaskState.RUNNING).length;
      const healthy = atNew.filter((t) => t.state === TaskState.RUNNING && t.healthy).length;
      const want = Math.min(p.runningBefore, taskCount);
      const line = `${p.id}: ${atNew.length}/${taskCount} tasks at version ${target}, ${running} running, ${healthy} healthy (${want} ran before)`;
      if (talk && last.get(p.id) !== line) note(line);
      last.set(p.id, line);
      if (atNew.length >= taskCount && healthy >= want) {
        if (talk) note(`${p.id}: rolling update done`);
        open.delete(p);
      }
      waiting.set(p.id, waitingOn(p.id, atNew));
    }
    if (open.size === 0) break;
    if (Date.now() + pollMs > deadline) return [...open].map((p) => waiting.get(p.id) ?? p.id);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return [];
}

/** waitingOn names the tasks at the new version that are not running healthy yet: why pending, or not healthy. */
function waitingOn(id: string, atNew: Task[]): string {
  const notUp = atNew.filter((t) => t.state !== TaskState.RUNNING || !t.healthy);
  const shown = notUp.slice(0, 5).map((t) => {
    if (t.state === TaskState.RUNNING) return `task ${t.index} runs on ${t.machine} but its Borglet does not report it healthy`;
    const why = t.whyPending || t.message;
    return `task ${t.index} ${taskStateName(t.state)}${why ? ` (${why})` : ''}`;
  });
  if (notUp.length > shown.length) shown.push(`${notUp.length - shown.length} more`);
  return `${id}: ${shown.length === 0 ? 'tasks still at the old version' : shown.join('; ')}`;
}

async function allTasks(client: CellClient, user: string, job: string): Promise<Task[]> {
  const { items } = await allPages<Task>(async (pageToken) => {
    const r = await client.read(RPCS.listTasks, { user, job, machine: '', state: TaskState.TASK_STATE_UNSPECIFIED, pageSize: LIST_PAGE_SIZE_MAX, pageToken });
    return { items: r.tasks, next: r.nextPageToken };
  }, Math.ceil(MAX_TASKS_PER_JOB / LIST_PAGE_SIZE_MAX) + 1);
  return items;
}
