// `borg resolve NAME`: looks a task or job up in BNS (Redis) and prints its endpoints.
import { register, EXIT } from '../registry';
import { loadCellConfig } from '../../cells/config';
import { BnsResolver } from '../../borgmaster/bns/resolver';
import { BorgError, InvalidArgument } from '../../model/errors';
import { note } from '../lib/index';

const HELP = `usage: borg resolve NAME [--healthy] [--cell FILE | --redis HOST:PORT] [--json]

Resolves a BNS name: a task (index.job.user.cell.borg) gives its endpoint, a job (job.user.cell.borg) gives
every running task's endpoint, and on stderr the job's size and how many of its tasks run and are healthy.
Each line: index, host:ports, machine, task, and whether the task is healthy (running and passing its health
check, as its Borglet reports). --healthy lists only the healthy ones, as a load balancer would route.

example: borg resolve 0.web.ubar.local.borg`;

register('resolve', {
  summary: 'resolve a BNS name (index.job.user.cell.borg or job.user.cell.borg) to host:port',
  async run(args) {
    if (args.includes('--help')) {
      console.log(HELP);
      return EXIT.ok;
    }
    const json = args.includes('--json');
    const healthyOnly = args.includes('--healthy');
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
      const all = await resolver.resolve(name);
      const healthy = all.endpoints.filter((e) => e.endpoint.healthy);
      const r = healthyOnly ? { ...all, endpoints: healthy } : all;
      // For a job: how many tasks it has, run and are healthy (stderr, so the endpoint lines stay a clean list).
      const summary = `${all.size === undefined ? '' : `${all.size} task(s), `}${all.endpoints.length} running, ${healthy.length} healthy`;
      if (r.endpoints.length === 0) throw new BorgError('not_found', `BNS name ${name}: ${summary}`);
      if (json) console.log(JSON.stringify(r, null, 2));
      else {
        for (const { index, endpoint } of r.endpoints) console.log(`${index}\t${endpoint.host}:${endpoint.ports.join(',')}\t${endpoint.machine}\t${endpoint.taskId}\t${endpoint.healthy ? 'healthy' : 'unhealthy'}`);
        if (all.size !== undefined) note(`${name}: ${summary}`);
      }
      return EXIT.ok;
    } finally {
      resolver.close();
    }
  },
});
