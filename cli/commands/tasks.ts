// `borg tasks [JOB]`: tasks with their state, machine, ports, cpu and ram used of their limits, restarts and spec
// version, and for pending tasks the scheduler's last verdict (see `borg why` for the whole story).
import { EXIT } from '../registry';
import { InvalidArgument } from '../../model/errors';
import { validateMachineName } from '../../model/ids';
import { LIST_PAGE_SIZE_MAX, MAX_TASKS_PER_CELL } from '../../cells/limits';
import { Task, TaskState } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, age, allPages, bytes, cpu, defineCommand, expectPositionals, jsonLines, note, out, parseJobRef, table, taskStateName, usedOf, withCell } from '../lib/index';

const flags = {
  ...CELL_FLAGS,
  state: { kind: 'string', value: 'STATE', help: 'only tasks in STATE: pending, running or dead' },
  machine: { kind: 'string', value: 'MACHINE', help: 'only tasks on MACHINE' },
  ...HELP_FLAG,
} as const;

export function parseTaskState(s: string): TaskState {
  switch (s.toLowerCase()) {
    case 'pending':
      return TaskState.PENDING;
    case 'running':
      return TaskState.RUNNING;
    case 'dead':
      return TaskState.DEAD;
    default:
      throw new InvalidArgument('--state', `${JSON.stringify(s)} is not one of pending, running, dead`);
  }
}

defineCommand(
  {
    name: 'tasks',
    summary: 'list tasks: state, machine, ports, usage, restarts, why pending',
    usage: 'tasks [JOB] [options]',
    description: `Lists the tasks of JOB (job, user/job or cell/user/job; the user defaults to --user), or of the whole cell.
CPU and RAM are what a running task used at its Borglet's last report, of its limits ("-" before the first
report). INFO is the scheduler's verdict for a pending task and the last message otherwise.`,
    examples: ['borg tasks web', 'borg tasks --state pending', 'borg tasks --machine local-a --json'],
    flags,
    async run({ flags: f, positionals }) {
      const [jobArg] = expectPositionals(positionals, ['JOB'], 1, 'borg tasks [JOB]');
      const state = f.state === undefined ? TaskState.TASK_STATE_UNSPECIFIED : parseTaskState(f.state);
      const machine = f.machine === undefined ? '' : validateMachineName(f.machine, '--machine');
      return withCell(f, async ({ client, config }) => {
        const ref = jobArg === undefined ? undefined : parseJobRef(jobArg, client.user, config.name);
        const { items, complete } = await allPages<Task>(async (pageToken) => {
          const r = await client.read(RPCS.listTasks, { user: ref?.user ?? '', job: ref?.job ?? '', machine, state, pageSize: LIST_PAGE_SIZE_MAX, pageToken });
          return { items: r.tasks, next: r.nextPageToken };
        }, Math.ceil(MAX_TASKS_PER_CELL / LIST_PAGE_SIZE_MAX) + 1);
        // A job with no task to list is answered "no tasks"; a job that does not exist is an error (GetJob's NotFound).
        if (items.length === 0 && ref !== undefined) await client.read(RPCS.getJob, { user: ref.user, job: ref.job });
        if (f.json) {
          out(jsonLines(items.map((t) => Task.toJSON(t))));
        } else if (items.length === 0) {
          note('no tasks');
        } else {
          const now = Date.now();
          out(table(items, [
            { header: 'TASK', value: (t) => `${t.user}/${t.job}/${t.index}` },
            { header: 'STATE', value: (t) => taskStateName(t.state) },
            { header: 'HEALTHY', value: (t) => (t.state !== TaskState.RUNNING ? '-' : t.healthy ? 'yes' : 'no') },
            { header: 'MACHINE', value: (t) => t.machine },
            { header: 'PORTS', value: (t) => t.ports.join(',') },
            { header: 'CPU', value: (t) => usedOf(t.usage?.cpuMillis, t.limit?.cpuMillis ?? 0, cpu), right: true },
            { header: 'RAM', value: (t) => usedOf(t.usage?.ramBytes, t.limit?.ramBytes ?? 0, bytes), right: true },
            { header: 'RESTARTS', value: (t) => t.restarts, right: true },
            { header: 'VERSION', value: (t) => t.specVersion, right: true },
            { header: 'SINCE', value: (t) => age(t.stateTimeMs, now), right: true },
            { header: 'INFO', value: (t) => (t.state === TaskState.PENDING && t.whyPending !== '' ? t.whyPending : t.message) },
          ]));
        }
        if (!complete) note('(more tasks than one listing returns; narrow with JOB, --state or --machine)');
        return EXIT.ok;
      });
    },
  },
  true,
);
