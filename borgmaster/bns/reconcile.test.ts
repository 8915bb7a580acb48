import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile, desiredFrom } from './reconcile';
import { decodeEndpoint, encodeEndpoint, type BnsRecord } from './records';

const rec = (job: string, index: number, host = 'h1', healthy = true): BnsRecord => ({
  id: { cell: 'c', user: 'u', job, index },
  endpoint: { taskId: `c/u/${job}/${index}`, machine: 'm1', host, ports: [8000 + index], healthy },
});

test('reconcile: nothing to do when equal', () => {
  const d = desiredFrom([rec('web', 0), rec('web', 1)]);
  assert.deepEqual(reconcile(d, desiredFrom([rec('web', 0), rec('web', 1)])), []);
});

test('reconcile: stale removed, missing added, changed rewritten', () => {
  const desired = desiredFrom([rec('web', 0, 'h2'), rec('web', 2)]);
  const actual = desiredFrom([rec('web', 0), rec('web', 1), rec('old', 0)]);
  const writes = reconcile(desired, actual);
  assert.deepEqual(
    writes.map((w) => `${w.kind} ${w.key}${'field' in w ? ` ${w.field}` : ''}`),
    [
      'del bns:0.old.u.c.borg',
      'set bns:0.web.u.c.borg',
      'del bns:1.web.u.c.borg',
      'set bns:2.web.u.c.borg',
      'del bns:old.u.c.borg',
      'hset bns:web.u.c.borg 0',
      'hdel bns:web.u.c.borg 1',
      'hset bns:web.u.c.borg 2',
    ],
  );
});

test('reconcile: a change of health rewrites the task and its field of the job', () => {
  const writes = reconcile(desiredFrom([rec('web', 0), rec('web', 1, 'h1', false)]), desiredFrom([rec('web', 0), rec('web', 1)]));
  assert.deepEqual(
    writes.map((w) => `${w.kind} ${w.key}${'field' in w ? ` ${w.field}` : ''}`),
    ['set bns:1.web.u.c.borg', 'hset bns:web.u.c.borg 1'],
  );
});

test('decodeEndpoint: health is read, defaults to healthy for records without it, and is checked', () => {
  const base = { taskId: 'c/u/web/0', machine: 'm1', host: 'h1', ports: [8000] };
  assert.equal(decodeEndpoint(encodeEndpoint({ ...base, healthy: false }))?.healthy, false);
  assert.equal(decodeEndpoint(JSON.stringify(base))?.healthy, true);
  assert.equal(decodeEndpoint(JSON.stringify({ ...base, healthy: 'yes' })), undefined);
});

test('reconcile: a job\'s size is a field of its hash, after the task indexes; a job with no task running keeps it', () => {
  const job = (name: string, size: number) => ({ id: { cell: 'c', user: 'u', job: name }, size });
  const desired = desiredFrom([rec('web', 0), rec('web', 10)], [job('web', 12), job('idle', 3)]);
  assert.deepEqual([...(desired.hashes.get('bns:web.u.c.borg')?.keys() ?? [])], ['0', '10', 'size']);
  assert.deepEqual([...(desired.hashes.get('bns:idle.u.c.borg') ?? [])], [['size', '3']]);
  const writes = reconcile(desired, desiredFrom([rec('web', 2), rec('web', 10)], [job('web', 11), job('gone', 1)]));
  assert.deepEqual(
    writes.map((w) => `${w.kind} ${w.key}${'field' in w ? ` ${w.field}` : ''}`),
    ['set bns:0.web.u.c.borg', 'del bns:2.web.u.c.borg', 'del bns:gone.u.c.borg', 'hset bns:idle.u.c.borg size', 'hset bns:web.u.c.borg 0', 'hdel bns:web.u.c.borg 2', 'hset bns:web.u.c.borg size'],
  );
});
