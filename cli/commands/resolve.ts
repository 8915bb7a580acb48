// `borg resolve NAME`: looks a task or job up in BNS (Redis) and prints its endpoints.
import { register, EXIT } from '../registry';
import { loadCellConfig } from '../../cells/config';
import { BnsResolver } from '../../borgmaster/bns/resolver';
import { BorgError, InvalidArgument } from '../../model/errors';

const HELP = `usage: borg resolve NAME [--cell FILE | --redis HOST:PORT] [--json]

Resolves a BNS name: a task (index.job.user.cell.borg) gives its endpoint, a job (job.user.cell.borg) gives
every running task's endpoint.

example: borg resolve 0.web.ubar.local.borg`;

register('resolve', {
  summary: 'resolve a BNS name (index.job.user.cell.borg or job.user.cell.borg) to host:port',
  async run(args) {
    if (args.includes('--help')) {
      console.log(HELP);
      return EXIT.ok;
    }
    const json = args.includes('--json');
    const flag = (name: string) => {
      const i = args.indexOf(name);
      if (i < 0) return undefined;
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new InvalidArgument(name, 'needs a value');
      return v;
    };
    const name = args.find((a, i) => !a.startsWith('--') && !['--cell', '--redis'].includes(args[i - 1] ?? ''));
    if (!name) throw new InvalidArgument('NAME', `is required\n\n${HELP}`);
    const address = flag('--redis') ?? loadCellConfig(flag('--cell') ?? 'cells/local.yaml').bns.redis;
    if (!address) throw new BorgError('failed_precondition', 'this cell has no BNS (bns.redis is not set in its config)');
    const resolver = new BnsResolver(address);
    try {
      const r = await resolver.resolve(name);
      if (json) console.log(JSON.stringify(r, null, 2));
      else for (const { index, endpoint } of r.endpoints) console.log(`${index}\t${endpoint.host}:${endpoint.ports.join(',')}\t${endpoint.machine}\t${endpoint.taskId}`);
      return EXIT.ok;
    } finally {
      resolver.close();
    }
  },
});
