// The scheduler daemon: `node --import tsx scheduler/process/main.ts --cell cells/local.yaml`. borg up runs it
// compiled to JavaScript instead (cli/up/compiled.ts), where its passes are ~10% faster. It authenticates with the
// cell's `scheduler` certificate (prepared by borg up) and follows whichever replica is the master.
import { loadCellConfig } from '../../cells/config';
import { loadIdentity, SCHEDULER_NAME } from '../../cells/identity';
import { clientCredentials } from '../../cells/security/index';
import { systemClock } from '../../model/clock';
import { InvalidArgument } from '../../model/errors';
import { warmUp } from '../index';
import { SchedulerProcess } from './scheduler_process';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--cell');
  const file = i >= 0 ? args[i + 1] : undefined;
  if (args.includes('--help') || !file) {
    console.log('usage: scheduler --cell FILE');
    if (!file && !args.includes('--help')) throw new InvalidArgument('--cell', 'is required');
    return;
  }
  const config = loadCellConfig(file);
  const credentials = clientCredentials(await loadIdentity(config, SCHEDULER_NAME));
  // Compile every pass path (preemption included) before the first real pass, so the first pass after a failover
  // does not pay the JIT's warm-up (scheduler/README.md, "Online passes").
  const w = warmUp(config.scheduler);
  console.log(`scheduler warm-up: ${w.passes} passes, ${w.placed} placed, ${w.preemptions} preemptions`);
  const p = new SchedulerProcess({ config, credentials, clock: systemClock, log: (m) => console.log(m) });
  p.start();
  console.log(`scheduler for cell ${config.name}: policy ${config.scheduler.policy}, pass every ${config.scheduler.passIntervalMs} ms`);
  const stop = () => {
    p.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  console.error(`scheduler: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof InvalidArgument ? 2 : 1);
});
