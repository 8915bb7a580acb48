// `borg submit FILE`: evaluates a BCL file and creates each of its jobs (CreateJob on the elected master).
// Request ids come from the job specs themselves, so submitting the same file again after a lost answer
// creates nothing twice; a job that was killed since is created anew (the next request generation).
import { EXIT } from '../registry';
import { evaluateFile } from '../../bcl/index';
import { BorgError } from '../../model/errors';
import { formatJobId } from '../../model/ids';
import type { CreateJobResponse, JobSpec } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, cellConfig, defaultUser, defineCommand, expectPositionals, jsonLines, out, submitRequestId, table, withCell, type CellClient } from '../lib/index';

/** MAX_GENERATIONS bounds how often one exact spec may be resubmitted after being killed (then: edit the file). */
const MAX_GENERATIONS = 64;

const flags = { ...CELL_FLAGS, ...HELP_FLAG } as const;

defineCommand(
  {
    name: 'submit',
    summary: 'submit the jobs of a BCL file (a retried submit is applied once)',
    usage: 'submit FILE [options]',
    description: `Evaluates FILE (see borg eval) and creates every job in it on the cell. Jobs that do not name a user
belong to --user; jobs that do not name a cell go to the target cell. Tasks start PENDING; see borg jobs,
borg tasks and borg why.`,
    examples: ['borg submit examples/web.bcl', 'borg submit examples/batch.bcl --user ubar --json'],
    flags,
    async run({ flags: f, positionals }) {
      const [file] = expectPositionals(positionals, ['FILE'], 0, 'borg submit FILE');
      const config = cellConfig(f);
      // Evaluate before connecting: bad input is reported without needing the cell.
      const { jobs } = evaluateFile(file as string, { cell: config.name, user: defaultUser(f.user) });
      if (jobs.length === 0) throw new BorgError('invalid_argument', `${file}: defines no jobs`);
      return withCell(
        f,
        async ({ client }) => {
          const done: { spec: JobSpec; res: CreateJobResponse; requestId: string }[] = [];
          const print = () => {
            if (f.json) out(jsonLines(done.map((d) => ({ id: formatJobId({ cell: d.spec.cell, user: d.spec.user, job: d.spec.name }), tasks: d.spec.taskCount, priority: d.spec.priority, logIndex: d.res.logIndex, requestId: d.requestId }))));
            else if (done.length > 0) out(table(done, [
              { header: 'JOB', value: (d) => formatJobId({ cell: d.spec.cell, user: d.spec.user, job: d.spec.name }) },
              { header: 'TASKS', value: (d) => d.spec.taskCount, right: true },
              { header: 'PRIORITY', value: (d) => d.spec.priority, right: true },
              { header: 'LOG INDEX', value: (d) => d.res.logIndex, right: true },
            ]));
          };
          try {
            for (const spec of jobs) done.push(await create(client, spec));
          } catch (e: unknown) {
            print();
            if (e instanceof BorgError && jobs.length > 1) throw new BorgError(e.code, `job ${jobs[done.length]?.name}: ${e.message}${done.length > 0 ? ` (the jobs above were submitted)` : ''}`, { cause: e });
            throw e;
          }
          print();
          return EXIT.ok;
        },
        config,
      );
    },
  },
  true,
);

/**
 * create sends CreateJob with the spec's request id. A remembered answer whose job no longer exists means this
 * exact spec was submitted and killed before: the next generation of the id creates it again.
 */
async function create(client: CellClient, spec: JobSpec): Promise<{ spec: JobSpec; res: CreateJobResponse; requestId: string }> {
  for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
    const requestId = submitRequestId(spec, generation);
    const res = await client.write(RPCS.createJob, { requestId, spec });
    if (res.job !== undefined) return { spec, res, requestId };
  }
  throw new BorgError('failed_precondition', `job ${spec.name}: this exact spec was submitted and killed ${MAX_GENERATIONS} times; change the file (e.g. an annotation) to submit it again`);
}
