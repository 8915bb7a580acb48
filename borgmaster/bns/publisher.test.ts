// BNS against a real redis-server: publish, resolve, delete on death, and reconciliation after Redis restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { BnsPublisher } from './publisher';
import { BnsResolver } from './resolver';
import type { BnsRecord } from './records';
import { startRedis } from '../../test/support/redis';
import { NotFound, Unavailable } from '../../model/errors';

const rec = (job: string, index: number, port: number, healthy = true): BnsRecord => ({
  id: { cell: 'bnstest', user: 'ubar', job, index },
  endpoint: { taskId: `bnstest/ubar/${job}/${index}`, machine: `m${index}`, host: '127.0.0.1', ports: [port], healthy },
});

async function eventually(f: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('publish, resolve task and job names, delete on death', async (t) => {
  const redis = await startRedis();
  const pub = new BnsPublisher({ cell: 'bnstest', address: redis.address, reconnectMs: 100 });
  const resolver = new BnsResolver(redis.address);
  t.after(async () => {
    resolver.close();
    await pub.close();
    await redis.stop();
  });
  await eventually(async () => pub.status().connected);
  pub.publish(rec('web', 0, 8000));
  pub.publish(rec('web', 1, 8001));
  await pub.flush();
  const one = await resolver.resolve('1.web.ubar.bnstest.borg');
  assert.deepEqual(one.endpoints, [{ index: 1, endpoint: rec('web', 1, 8001).endpoint }]);
  const job = await resolver.resolve('web.ubar.bnstest.borg');
  assert.deepEqual(job.endpoints.map((e) => e.endpoint.ports[0]), [8000, 8001]);

  // A task whose health check fails stays named, marked unhealthy, in its record and in the job's.
  pub.publish(rec('web', 1, 8001, false));
  await pub.flush();
  assert.equal((await resolver.resolve('1.web.ubar.bnstest.borg')).endpoints[0]?.endpoint.healthy, false);
  assert.deepEqual((await resolver.resolve('web.ubar.bnstest.borg')).endpoints.map((e) => e.endpoint.healthy), [true, false]);

  pub.unpublish(rec('web', 0, 8000));
  await pub.flush();
  await assert.rejects(resolver.resolve('0.web.ubar.bnstest.borg'), NotFound);
  assert.deepEqual((await resolver.resolve('web.ubar.bnstest.borg')).endpoints.map((e) => e.index), [1]);
  await assert.rejects(resolver.resolve('0.web.ubar'), /not a BNS name/);

  // The job's size: resolved with its tasks, and named while none runs; gone with the job.
  const web = { cell: 'bnstest', user: 'ubar', job: 'web' };
  pub.publishJob({ id: web, size: 3 });
  pub.publishJob({ id: { ...web, job: 'idle' }, size: 2 });
  await pub.flush();
  assert.deepEqual(await resolver.resolve('web.ubar.bnstest.borg'), { name: 'web.ubar.bnstest.borg', endpoints: [{ index: 1, endpoint: rec('web', 1, 8001, false).endpoint }], size: 3 });
  assert.deepEqual(await resolver.resolve('idle.ubar.bnstest.borg'), { name: 'idle.ubar.bnstest.borg', endpoints: [], size: 2 });
  pub.unpublishJob({ ...web, job: 'idle' });
  await pub.flush();
  await assert.rejects(resolver.resolve('idle.ubar.bnstest.borg'), NotFound);
  assert.equal(pub.status().jobs, 1);
});

test('Redis down does not stop publishing; on return Redis is reconciled (nothing stale, nothing missing)', async (t) => {
  const redis = await startRedis();
  const pub = new BnsPublisher({ cell: 'bnstest', address: redis.address, reconnectMs: 100 });
  t.after(async () => {
    await pub.close();
    await redis.stop();
  });
  await eventually(async () => pub.status().connected);
  pub.publish(rec('web', 0, 8000));
  pub.publish(rec('web', 1, 8001));
  await pub.flush();

  await redis.stop();
  await eventually(async () => !pub.status().connected);
  // While Redis is down the master keeps going: a task dies, another starts. Nothing throws.
  pub.unpublish(rec('web', 0, 8000));
  pub.publish(rec('web', 2, 8002));
  await pub.flush();
  const resolverDown = new BnsResolver(redis.address);
  await assert.rejects(resolverDown.resolve('web.ubar.bnstest.borg'), Unavailable);
  resolverDown.close();

  // Redis returns empty; meanwhile someone left a stale record of a task that no longer runs.
  await redis.restart();
  const raw = new Redis({ host: '127.0.0.1', port: redis.port });
  t.after(() => raw.disconnect());
  await raw.set('bns:0.ghost.ubar.bnstest.borg', '{"taskId":"x","machine":"m","host":"h","ports":[]}');
  await raw.set('bns:0.other.ubar.othercell.borg', 'kept: another cell');
  pub.publish(rec('web', 3, 8003)); // arrives around the reconnect
  await eventually(async () => pub.status().connected && pub.status().reconciles >= 2);
  await pub.replaceAll([rec('web', 1, 8001), rec('web', 2, 8002), rec('web', 3, 8003)]);

  const resolver = new BnsResolver(redis.address);
  t.after(() => resolver.close());
  assert.deepEqual((await resolver.resolve('web.ubar.bnstest.borg')).endpoints.map((e) => e.index), [1, 2, 3]);
  await assert.rejects(resolver.resolve('0.web.ubar.bnstest.borg'), NotFound);
  await assert.rejects(resolver.resolve('0.ghost.ubar.bnstest.borg'), NotFound);
  assert.equal(await raw.get('bns:0.other.ubar.othercell.borg'), 'kept: another cell', 'other cells are untouched');
  assert.deepEqual((await raw.keys('bns:*.bnstest.borg')).sort(), [
    'bns:1.web.ubar.bnstest.borg',
    'bns:2.web.ubar.bnstest.borg',
    'bns:3.web.ubar.bnstest.borg',
    'bns:web.ubar.bnstest.borg',
  ]);
});
