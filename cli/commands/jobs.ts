// `borg jobs [USER]`: the cell's jobs with their task counts and a one-word state; `--json` prints one job per
// line with its state and counts, so `borg jobs --json | grep -i running` finds the jobs that have running tasks.
import { EXIT } from '../registry';
import { validateName } from '../../model/ids';
import { LIST_PAGE_SIZE_MAX, MAX_JOBS_PER_CELL } from '../../cells/limits';
import type { Job } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, age, allPages, defineCommand, expectPositionals, jobJson, jobState, jsonLines, note, out, rolloutText, table, withCell } from '../lib/index';

const flags = { ...CELL_FLAGS, ...HELP_FLAG } as const;

defineCommand(
  {
    name: 'jobs',
    summary: "list the cell's jobs with task counts and state",
    usage: 'jobs [USER] [options]',
    description: `Lists every job of the cell, or only USER's. STATE is RUNNING (every task runs), PARTLY RUNNING, PENDING,
DEAD or EMPTY. Reads are served by any replica.`,
    examples: ['borg jobs', 'borg jobs ubar --json | grep -i running'],
    flags,
    async run({ flags: f, positionals }) {
      const [owner] = expectPositionals(positionals, ['USER'], 1, 'borg jobs [USER]');
      const user = owner === undefined ? '' : validateName(owner, 'USER');
      return withCell(f, async ({ client }) => {
        const { items, complete } = await allPages<Job>(async (pageToken) => {
          const r = await client.read(RPCS.listJobs, { user, pageSize: LIST_PAGE_SIZE_MAX, pageToken });
          return { items: r.jobs, next: r.nextPageToken };
        }, Math.ceil(MAX_JOBS_PER_CELL / LIST_PAGE_SIZE_MAX) + 1);
        items.sort((a, b) => `${a.spec?.user}/${a.spec?.name}`.localeCompare(`${b.spec?.user}/${b.spec?.name}`));
        if (f.json) {
          out(jsonLines(items.map(jobJson)));
        } else if (items.length === 0) {
          note(user === '' ? 'no jobs' : `no jobs of ${user}`);
        } else {
          const now = Date.now();
          out(table(items, [
            { header: 'JOB', value: (j) => `${j.spec?.user}/${j.spec?.name}` },
            { header: 'PRIORITY', value: (j) => j.spec?.priority, right: true },
            { header: 'TASKS', value: (j) => j.spec?.taskCount, right: true },
            { header: 'RUNNING', value: (j) => j.running, right: true },
            { header: 'HEALTHY', value: (j) => j.healthy, right: true },
            { header: 'PENDING', value: (j) => j.pending, right: true },
            { header: 'DEAD', value: (j) => j.dead, right: true },
            { header: 'VERSION', value: (j) => j.specVersion, right: true },
            { header: 'AGE', value: (j) => age(j.createdMs, now), right: true },
            { header: 'STATE', value: (j) => jobState({ ...j, taskCount: j.spec?.taskCount ?? 0 }) },
            { header: 'ROLLOUT', value: (j) => rolloutText({ ...j, taskCount: j.spec?.taskCount ?? 0 }) },
          ]));
        }
        if (!complete) note('(more jobs than one listing returns; narrow with USER)');
        return EXIT.ok;
      });
    },
  },
  true,
);
