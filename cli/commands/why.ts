// `borg why TASK|JOB`: why a task is pending. For a task: its state and the scheduler's last verdict
// (`0/4 machines feasible: 3 insufficient ram, ...`) or its restart back-off, guidance on its requests
// (cli/lib/guidance.ts), plus its recent events. For a job: its pending tasks grouped by verdict, with guidance.
import { EXIT } from '../registry';
import { formatTaskId } from '../../model/ids';
import { LIST_PAGE_SIZE_MAX } from '../../cells/limits';
import { TaskState, type JobSpec, type Machine, type Task } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, defineCommand, eventTypeName, expectPositionals, fitGuidance, isTaskRef, isoTime, json, listMachines, out, parseJobRef, parseTaskRef, taskStateName, withCell } from '../lib/index';

const flags = { ...CELL_FLAGS, ...HELP_FLAG } as const;
const RECENT_EVENTS = 5;
/** NO_VERDICT is shown for a pending task the scheduler has not yet looked at. */
export const NO_VERDICT = 'no verdict yet: the scheduler has not considered it since it became pending';

function verdict(t: Task): string {
  return t.whyPending !== '' ? t.whyPending : NO_VERDICT;
}

/** guidance: for a pending task of job `spec`, what the cell's machines could give it (fitGuidance). */
function guidance(t: Task, spec: JobSpec | undefined, machines: readonly Machine[]): string[] {
  return t.limit === undefined ? [] : fitGuidance(t.limit, t.priority, spec?.task?.constraints ?? [], machines);
}

defineCommand(
  {
    name: 'why',
    summary: 'why is a task (or a job\'s tasks) pending: the scheduler\'s verdicts',
    usage: 'why TASK|JOB [options]',
    description: `TASK is job/index, user/job/index, cell/user/job/index or index.job.user.cell.borg; JOB is job, user/job,
cell/user/job or job.user.cell.borg (the user defaults to --user). Shows the scheduler's last verdict for each
pending task, counted by reason over the machines it looked at, and guidance on its requests: the ones no machine
that is up (and meets its constraints) has at all, or, failing that, has free now.`,
    examples: ['borg why web/0', 'borg why web', 'borg why 0.web.ubar.local.borg --json'],
    flags,
    async run({ flags: f, positionals }) {
      const [arg] = expectPositionals(positionals, ['TASK|JOB'], 0, 'borg why TASK|JOB') as [string];
      return withCell(f, async ({ client, config }) => {
        if (isTaskRef(arg)) {
          const id = parseTaskRef(arg, client.user, config.name);
          const r = await client.read(RPCS.getTask, { taskId: id });
          const t = r.task;
          if (t === undefined) throw new Error(`GetTask ${id} answered without a task`);
          const pending = t.state === TaskState.PENDING;
          const advice = pending ? guidance(t, (await client.read(RPCS.getJob, { user: t.user, job: t.job })).job?.spec, await listMachines(client)) : [];
          if (f.json) {
            out(json({ task: id, state: taskStateName(t.state), pending, why: pending ? verdict(t) : '', guidance: advice, machine: t.machine, message: t.message, events: r.events.slice(-RECENT_EVENTS).map((e) => ({ timeMs: e.timeMs, type: eventTypeName(e.type), machine: e.machine, message: e.message })) }));
            return EXIT.ok;
          }
          if (pending) {
            out(`${id} is PENDING: ${verdict(t)}`);
            for (const line of advice) out(`  guidance: ${line}`);
          } else {
            const health = t.state === TaskState.RUNNING ? `, ${t.healthy ? 'healthy' : 'not healthy'} since ${isoTime(t.healthTimeMs)}` : '';
            out(`${id} is not pending: it is ${taskStateName(t.state)}${t.machine !== '' ? ` on ${t.machine}` : ''}${health}${t.message !== '' ? ` (${t.message})` : ''}`);
          }
          const recent = r.events.slice(-RECENT_EVENTS);
          if (recent.length > 0) {
            out('recent events:');
            for (const e of recent) out(`  ${isoTime(e.timeMs)}  ${eventTypeName(e.type).padEnd(14)}  ${e.machine === '' ? '-' : e.machine}  ${e.message}`);
          }
          return EXIT.ok;
        }
        const ref = parseJobRef(arg, client.user, config.name);
        const got = await client.read(RPCS.getJob, { user: ref.user, job: ref.job });
        const pending: Task[] = [];
        let token = '';
        for (let i = 0; i < 20; i++) {
          const p = await client.read(RPCS.listTasks, { user: ref.user, job: ref.job, machine: '', state: TaskState.PENDING, pageSize: LIST_PAGE_SIZE_MAX, pageToken: token });
          pending.push(...p.tasks);
          token = p.nextPageToken;
          if (token === '') break;
        }
        // Grouped by verdict; a group's guidance is its first task's (tasks of a job differ only by overrides).
        const groups = new Map<string, { indexes: number[]; guidance: string[] }>();
        const machines = pending.length > 0 ? await listMachines(client) : [];
        for (const t of pending) {
          const why = verdict(t);
          const g = groups.get(why) ?? { indexes: [], guidance: guidance(t, got.job?.spec, machines) };
          g.indexes.push(t.index);
          groups.set(why, g);
        }
        const jobId = `${config.name}/${ref.user}/${ref.job}`;
        if (f.json) {
          out(json({ job: jobId, tasks: got.job?.spec?.taskCount ?? 0, running: got.job?.running ?? 0, pending: pending.length, verdicts: [...groups].map(([why, g]) => ({ why, guidance: g.guidance, tasks: g.indexes.map((i) => formatTaskId({ ...ref, cell: config.name, index: i })) })) }));
          return EXIT.ok;
        }
        if (pending.length === 0) {
          const j = got.job;
          const rollout = (j?.rolloutDown ?? 0) > 0 ? `; the rolling update waits on ${j?.rolloutDown} restarted task(s) to run healthy` : '';
          out(`${jobId} has no pending tasks (${j?.running ?? 0} running, ${j?.healthy ?? 0} healthy, ${j?.dead ?? 0} dead of ${j?.spec?.taskCount ?? 0}${rollout})`);
          return EXIT.ok;
        }
        out(`${jobId}: ${pending.length} of ${got.job?.spec?.taskCount ?? 0} tasks pending`);
        for (const [why, { indexes, guidance: advice }] of [...groups].sort((a, b) => b[1].indexes.length - a[1].indexes.length)) {
          out(`  ${indexes.length} task${indexes.length === 1 ? '' : 's'} (${abbreviate(indexes)}): ${why}`);
          for (const line of advice) out(`    guidance: ${line}`);
        }
        return EXIT.ok;
      });
    },
  },
  true,
);

/** abbreviate renders task indexes as ranges: 0-3,7,9-10. */
export function abbreviate(indexes: readonly number[]): string {
  const s = [...indexes].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && (s[j + 1] as number) === (s[j] as number) + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
