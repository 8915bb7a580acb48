// The Borglet's public surface: the agent itself, its gRPC server, startBorglet for tests and local cells, and
// the pure decision functions (also used by simulated Borglets in sim/).
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Authorize } from './server';
import { Borglet, type BorgletOptions } from './borglet';
import { serveBorglet } from './server';

export { Borglet, type BorgletOptions } from './borglet';
export { serveBorglet, borgletService, pollStreamHandler, type Authorize, type AuthorizedCall, type PollFn } from './server';
export { validateDesiredTask, groupName, type ValidTask, type RestartRule, type HealthRule } from './spec';
export { compareBallots, judgeBallot, formatBallot, type BallotVerdict } from './ballot';
export { reclaim, UsageWindow, peakWindowMs, type ReclaimInput, type ReclaimOutput, type UsageSample } from './reclaim';
export { memoryEvictions, cpuPlan, type PressureTask, type Eviction, type CpuPlan } from './pressure';
export { afterExit, forgives, type ExitInfo, type AfterExit } from './restart_policy';
export { healthStep, type HealthState } from './health';
export { simulateMachine, DEFAULT_SIM, type SimOptions, type SimResult } from './sim_machine';
export * from './cgroups/index';

export interface RunningBorglet {
  borglet: Borglet;
  server: Server;
  port: number;
  address: string;
  /** close stops serving and sampling; the tasks keep running (autonomy). */
  close(): Promise<void>;
}

/** startBorglet creates a Borglet, serves it on `listen` and starts its loop. */
export async function startBorglet(options: BorgletOptions & { listen: string; credentials?: ServerCredentials; authorize?: Authorize }): Promise<RunningBorglet> {
  const borglet = await Borglet.create(options);
  const { server, port } = await serveBorglet(borglet, options.listen, options.credentials, options.authorize);
  borglet.run();
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  return {
    borglet,
    server,
    port,
    address: `${host}:${port}`,
    close: async () => {
      borglet.stop();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
