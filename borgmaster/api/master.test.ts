// The Master's write path without a network: a log that never chooses a proposal makes the call fail with
// UNAVAILABLE after the propose timeout (the client retries with the same request id), and nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Unavailable } from '../../model/errors';
import { VirtualClock } from '../../model/clock';
import { MiB } from '../../model/resources';
import { jobSpec } from '../state/index';
import { Master } from './master';
import { InProcessLogForHandlerTests } from './test_log_for_handler_tests';

test('a proposal that is never chosen fails with UNAVAILABLE after the timeout and changes nothing', async () => {
  const log = new InProcessLogForHandlerTests();
  const master = new Master({ cell: 'test', replicaId: 1, log: log.view(1), clock: new VirtualClock(1000), admins: [], proposeTimeoutMs: 100 });
  log.attach(1, master, '127.0.0.1:1');
  log.stalled = true;
  const who = { commonName: 'alice', roles: ['user' as const] };
  const spec = jobSpec({ cell: 'test', user: 'alice', priority: 0, task: { requirements: { cpuMillis: 100, ramBytes: 64 * MiB, diskBytes: 0, ports: 0 } } });
  await assert.rejects(master.createJob({ requestId: 'r1', spec }, who), (e: unknown) => e instanceof Unavailable && /not committed within 100ms; retry with the same request id/.test(e.message));
  assert.equal(master.state.jobs.size, 0);
  log.stalled = false;
  const ok = await master.createJob({ requestId: 'r1', spec }, who);
  assert.equal(ok.job?.pending, 1);
});
