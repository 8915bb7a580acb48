// `borg events`: the cell's task events (SUBMIT, SCHEDULE, EVICT, FAIL, FINISH, KILL, LOST, UPDATE_*), oldest
// first, filtered by job, machine, user, task, type and age, one page at a time.
import { EXIT } from '../registry';
import { InvalidArgument } from '../../model/errors';
import { validateMachineName, validateName } from '../../model/ids';
import { LIST_PAGE_SIZE_MAX } from '../../cells/limits';
import { EventType, TaskEvent } from '../../proto/index';
import { EVENT_TYPES, EVENT_TYPE_NAMES } from '../../model/task_state';
import { CELL_FLAGS, HELP_FLAG, RPCS, defineCommand, eventTypeName, expectPositionals, isoTime, json, note, out, parseJobRef, parseTaskRef, table, withCell } from '../lib/index';

const flags = {
  ...CELL_FLAGS,
  job: { kind: 'string', value: 'JOB', help: 'only events of JOB (job, user/job or cell/user/job)' },
  task: { kind: 'string', value: 'TASK', help: 'only events of TASK (job/index, user/job/index, ...)' },
  machine: { kind: 'string', value: 'MACHINE', help: 'only events on MACHINE' },
  type: { kind: 'string', value: 'TYPE', multiple: true, help: `only these types (repeat or comma-separate): ${EVENT_TYPE_NAMES.join(', ').toLowerCase()}` },
  since: { kind: 'duration', value: 'DURATION', help: 'only events of the last DURATION (e.g. 10m)' },
  limit: { kind: 'int', value: 'N', help: `events per page (default 100, at most ${LIST_PAGE_SIZE_MAX})` },
  page: { kind: 'string', value: 'TOKEN', help: 'the page to show (printed at the end of the previous one)' },
  ...HELP_FLAG,
} as const;

export function parseEventType(s: string): EventType {
  const i = EVENT_TYPE_NAMES.indexOf(s.toUpperCase().replace(/-/g, '_'));
  if (i < 0) throw new InvalidArgument('--type', `${JSON.stringify(s)} is not one of ${EVENT_TYPE_NAMES.join(', ').toLowerCase()}`);
  return EVENT_TYPES[i] as EventType;
}

defineCommand(
  {
    name: 'events',
    summary: 'task events, filtered by job, task, machine, user, type and age',
    usage: 'events [options]',
    description: `Lists task events oldest first, a page at a time. --user filters by user (it also picks the certificate);
without --user, --job or --task the whole cell's events are shown.`,
    examples: ['borg events --job web --type schedule,kill', 'borg events --machine local-a --since 10m', 'borg events --limit 50 --page 50 --json'],
    flags,
    async run({ flags: f, positionals }) {
      expectPositionals(positionals, [], 0, 'borg events [options]');
      const types = f.type.map(parseEventType);
      const machine = f.machine === undefined ? '' : validateMachineName(f.machine, '--machine');
      const limit = f.limit ?? 100;
      if (limit < 1 || limit > LIST_PAGE_SIZE_MAX) throw new InvalidArgument('--limit', `must be in [1, ${LIST_PAGE_SIZE_MAX}], got ${limit}`);
      if (f.page !== undefined && !/^[0-9]{1,16}$/.test(f.page)) throw new InvalidArgument('--page', `${JSON.stringify(f.page)} is not a page token from a previous page`);
      const sinceMs = f.since === undefined ? 0 : Math.max(0, Date.now() - f.since);
      return withCell(f, async ({ client, config }) => {
        let user = f.user === undefined ? '' : validateName(f.user, '--user');
        let job = '';
        let taskId = '';
        if (f.job !== undefined) {
          const ref = parseJobRef(f.job, client.user, config.name, '--job');
          user = ref.user;
          job = ref.job;
        }
        if (f.task !== undefined) taskId = parseTaskRef(f.task, client.user, config.name, '--task');
        const r = await client.read(RPCS.listEvents, { user, job, machine, taskId, types, sinceMs, pageSize: limit, pageToken: f.page ?? '' });
        if (f.json) {
          out(json({ events: r.events.map((e) => ({ ...(TaskEvent.toJSON(e) as object), type: eventTypeName(e.type) })), nextPageToken: r.nextPageToken }));
          return EXIT.ok;
        }
        if (r.events.length === 0) note('no events');
        else
          out(table(r.events, [
            { header: 'TIME', value: (e) => isoTime(e.timeMs) },
            { header: 'INDEX', value: (e) => e.logIndex, right: true },
            { header: 'TYPE', value: (e) => eventTypeName(e.type) },
            { header: 'TASK', value: (e) => e.taskId },
            { header: 'MACHINE', value: (e) => e.machine },
            { header: 'MESSAGE', value: (e) => e.message },
          ]));
        if (r.nextPageToken !== '') note(`more: add --page ${r.nextPageToken}`);
        return EXIT.ok;
      });
    },
  },
  true,
);
