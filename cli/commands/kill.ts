// `borg kill JOB...`: kills jobs (KillJob on the elected master): their tasks stop and the jobs are gone. The
// request id names the job's incarnation (its creation time), so a retried kill never kills a later one.
import { EXIT } from '../registry';
import { formatJobId } from '../../model/ids';
import { CELL_FLAGS, HELP_FLAG, RPCS, defineCommand, expectPositionals, jsonLines, killRequestId, out, parseJobRef, withCell } from '../lib/index';

const flags = { ...CELL_FLAGS, ...HELP_FLAG } as const;

defineCommand(
  {
    name: 'kill',
    summary: 'kill jobs: stop their tasks and remove them',
    usage: 'kill JOB... [options]',
    description: `Kills each JOB (job, user/job, cell/user/job, or job.user.cell.borg; the user defaults to --user).
Users kill only their own jobs; admins any.`,
    examples: ['borg kill web', 'borg kill ubar/web ubar/batch --user admin'],
    flags,
    async run({ flags: f, positionals }) {
      if (positionals.length === 0) expectPositionals(positionals, ['JOB'], 0, 'borg kill JOB...');
      return withCell(f, async ({ client, config }) => {
        const refs = positionals.map((p) => parseJobRef(p, client.user, config.name));
        const killed: { id: string; tasks: number; logIndex: number }[] = [];
        for (const ref of refs) {
          const got = await client.read(RPCS.getJob, { user: ref.user, job: ref.job });
          const res = await client.write(RPCS.killJob, { requestId: killRequestId(ref.user, ref.job, got.job?.createdMs ?? 0), user: ref.user, job: ref.job });
          const k = { id: formatJobId(ref), tasks: got.job?.spec?.taskCount ?? 0, logIndex: res.logIndex };
          killed.push(k);
          if (!f.json) out(`killed ${k.id} (${k.tasks} task${k.tasks === 1 ? '' : 's'}) at log index ${k.logIndex}`);
        }
        if (f.json) out(jsonLines(killed));
        return EXIT.ok;
      });
    },
  },
  true,
);
