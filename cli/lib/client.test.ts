// The cell client against real BorgMaster API servers (real gRPC, real mutual TLS, real state machines on the
// API team's in-process log): writes sent to a follower reach the leader through its redirect; a write whose
// answer is lost after commit is retried with the same request id and applied once; reads move past a dead
// replica; an unreachable cell fails within the deadline naming each replica; a user certificate is issued
// from the cell CA when missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BorgError } from '../../model/errors';
import { jobSpec } from '../../borgmaster/state/index';
import { certDir } from '../../cells/identity';
import { clientCredentials } from '../../cells/security/index';
import { ApiCell } from '../../test/support/api_cell';
import { CellClient, RPCS, connectCell, type Next } from './client';
import { userCredentials } from './credentials';

let cell: ApiCell;
before(async () => {
  cell = await ApiCell.start({ cell: 'cl' });
});
after(async () => {
  await cell.close();
});

const spec = (name: string) => jobSpec({ cell: 'cl', user: 'ubar', name, priority: 200, taskCount: 1, task: { requirements: { cpuMillis: 100, ramBytes: 64 * 1024 * 1024, diskBytes: 0, ports: 0 } } });

test('userCredentials issues a missing user certificate from the CA key, then loads it', async () => {
  const crt = join(certDir(cell.config), 'ubar.crt');
  assert.equal(existsSync(crt), false);
  const first = await userCredentials(cell.config, 'ubar');
  assert.equal(first.issued, true);
  assert.ok(existsSync(crt));
  const again = await userCredentials(cell.config, 'ubar');
  assert.equal(again.issued, false);
  assert.deepEqual(again.tls.certPem, first.tls.certPem);
  const noCa = { ...cell.config, security: { tls: true, caDir: join(cell.dir, 'nowhere') } };
  await assert.rejects(userCredentials(noCa, 'ubar'), (e: unknown) => e instanceof BorgError && e.code === 'unavailable' && /never brought up/.test(e.message));
});

test('a write sent to a follower follows the redirect to the leader; reads stay on the follower', async () => {
  const retries: Next[] = [];
  const { client } = await connectCell({ config: cell.config, master: [cell.addresses[2] as string], onRetry: (r) => retries.push(r.next) });
  try {
    const res = await client.write(RPCS.createJob, { requestId: 'redirect-1', spec: spec('redir') });
    assert.equal(res.job?.spec?.name, 'redir');
    assert.deepEqual(retries, [{ kind: 'redirect', address: cell.addresses[0] }]);
    const got = await client.read(RPCS.getJob, { user: 'ubar', job: 'redir' });
    assert.equal(got.read?.replica, 3, 'reads are served by the replica the client was pointed at');
    assert.deepEqual(client.replicaAddresses, [cell.addresses[2], cell.addresses[0]]);
  } finally {
    client.close();
  }
});

test('a write whose answer is lost after commit is retried with the same request id and applied once', async () => {
  const retried: string[] = [];
  const { client } = await connectCell({ config: cell.config, onRetry: (r) => retried.push(`${r.next.kind}: ${r.error.message}`) });
  try {
    const before = cell.proposals;
    cell.loseAnswers = 1;
    const res = await client.write(RPCS.createJob, { requestId: 'lost-1', spec: spec('lost') });
    assert.equal(res.job?.spec?.name, 'lost');
    assert.equal(cell.loseAnswers, 0);
    assert.equal(retried.length, 1);
    assert.match(retried[0] as string, /^retry: test: the answer for log index \d+ was lost/);
    assert.equal(cell.proposals - before, 1, 'the retries were answered from the request cache, not proposed again');
    const jobs = await client.read(RPCS.listJobs, { user: 'ubar', pageSize: 0, pageToken: '' });
    assert.equal(jobs.jobs.filter((j) => j.spec?.name === 'lost').length, 1);
  } finally {
    client.close();
  }
});

test('refusals are answers, not retried: a duplicate job is already_exists at once', async () => {
  const retries: Next[] = [];
  const { client } = await connectCell({ config: cell.config, onRetry: (r) => retries.push(r.next) });
  try {
    await assert.rejects(client.write(RPCS.createJob, { requestId: 'dup-2', spec: spec('lost') }), (e: unknown) => e instanceof BorgError && e.code === 'already_exists');
    assert.deepEqual(retries, []);
  } finally {
    client.close();
  }
});

test('reads move past an unreachable replica; an unreachable cell fails within its deadline naming the replicas', async () => {
  const tls = (await userCredentials(cell.config, 'ubar')).tls;
  const mixed = new CellClient('cl', 'ubar', ['127.0.0.1:1', cell.addresses[1] as string], clientCredentials(tls), { timeoutMs: 5_000 });
  try {
    const r = await mixed.read(RPCS.cellStatus, {});
    assert.equal(r.read?.replica, 2);
  } finally {
    mixed.close();
  }
  const dead = new CellClient('cl', 'ubar', ['127.0.0.1:1', '127.0.0.1:2'], clientCredentials(tls), { timeoutMs: 800 });
  const t0 = Date.now();
  try {
    await assert.rejects(dead.write(RPCS.killJob, { requestId: 'k', user: 'ubar', job: 'x' }), (e: unknown) => {
      assert.ok(e instanceof BorgError);
      assert.equal(e.code, 'unavailable');
      assert.match(e.message, /^cell cl did not answer KillJob within 800ms; replicas tried:\n {2}127\.0\.0\.1:1: .+\n {2}127\.0\.0\.1:2: .+/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5_000, `gave up after ${Date.now() - t0}ms`);
  } finally {
    dead.close();
  }
});
