// The status server over HTTP on 127.0.0.1 with a real CellState: every route answers, bad input gets a precise
// 400/404/405/414 and the server keeps serving, /metrics scrapes the live state, and the live stream carries a
// notice naming a task after a command changes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { GiB } from '../model/resources';
import { EventType } from '../proto/index';
import { STATUS_MAX_URL_BYTES } from '../cells/limits';
import { DrivenCell, serveStatus, type ServedCell } from './support/status_cell';

let cell: DrivenCell;
let served: ServedCell;

before(async () => {
  cell = new DrivenCell('test');
  for (let i = 0; i < 3; i++) cell.addMachine(`m${i}`, { cpuMillis: 4000, ramBytes: 8 * GiB });
  cell.quota('alice', 200, { cpuMillis: 8000, ramBytes: 16 * GiB });
  cell.createJob({ name: 'web', user: 'alice', taskCount: 3, task: { env: { X: '<img src=x onerror=alert(1)>' } } });
  await cell.schedulePass();
  served = await serveStatus(cell, { coalesceMs: 20 });
});

after(async () => {
  await served?.close();
});

async function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(served.url + path, { method });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

test('every page answers 200 with HTML, and the escaping holds on the wire', async () => {
  for (const p of ['/', '/machines', '/machine/m0', '/jobs', '/jobs?sort=pending&dir=asc&page=1', '/job/alice/web', '/job/alice/web?state=RUNNING&sort=machine', '/tasks', '/tasks?state=RUNNING&sort=cpu&rows=2&page=2', '/task/alice/web/0', '/events', '/events?type=SCHEDULE&user=alice']) {
    const r = await get(p);
    assert.equal(r.status, 200, `${p}: ${r.body.slice(0, 300)}`);
    assert.match(r.type, /^text\/html/, p);
    assert.match(r.body, /<main id="main" data-log-index="\d+">/, p);
  }
  const task = await get('/task/alice/web/0');
  assert.match(task.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.doesNotMatch(task.body, /<img/);
  const res = await fetch(served.url + '/');
  assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
});

test('machines.json, static assets, healthz and /metrics', async () => {
  const hm = JSON.parse((await get('/machines.json')).body) as { names: string[]; limit: number[] };
  assert.deepEqual(hm.names, ['m0', 'm1', 'm2']);
  assert.equal(hm.limit.length, 3);
  assert.match((await get('/static/status.js')).type, /javascript/);
  assert.match((await get('/static/status.css')).type, /css/);
  assert.equal((await get('/healthz')).body, 'ok\n');
  const m = await get('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.body, /^borg_tasks\{state="RUNNING",cell="test",replica="1"\} 3$/m);
  assert.match(m.body, /^borg_state_applied_index\{cell="test",replica="1"\} \d+$/m);
});

test('bad input gets a precise status and message; the server keeps serving', async () => {
  const cases: [string, number, RegExp][] = [
    ['/tasks?sort=bogus', 400, /sort: &quot;bogus&quot; is not one of id, state/],
    ['/tasks?page=0', 400, /page: &quot;0&quot; is not a positive integer/],
    ['/tasks?rows=5000', 400, /rows: 5000 is more than 1000/],
    ['/events?type=EXPLODE', 400, /type: &quot;EXPLODE&quot; is not one of/],
    ['/machines?state=ON_FIRE', 400, /state: &quot;ON_FIRE&quot;/],
    ['/task/alice/web/x', 400, /index: &quot;x&quot; is not a task index/],
    ['/task/alice/web/99', 404, /task &quot;alice\/web\/99&quot; in cell test not found/],
    ['/job/alice/%E0%A4%A', 400, /not a valid percent-encoded path segment/],
    ['/machine/nope', 404, /machine &quot;nope&quot; in cell test not found/],
    ['/static/../../etc/passwd', 404, /no page at/],
    ['/static/nothing.js', 404, /asset nothing\.js not found/],
    ['/wp-admin', 404, /no page at \/wp-admin/],
    [`/tasks?q=${'a'.repeat(300)}`, 400, /q: is 300 characters long/],
    [`/tasks?q=${'a'.repeat(STATUS_MAX_URL_BYTES)}`, 414, /more than 4096/],
  ];
  for (const [path, status, re] of cases) {
    const r = await get(path);
    assert.equal(r.status, status, `${path}: ${r.body.slice(0, 200)}`);
    assert.match(r.body, re, path);
  }
  const post = await get('/', 'POST');
  assert.equal(post.status, 405);
  assert.equal((await get('/')).status, 200);
});

test('the live stream names a task after a command changes it', async () => {
  const chunks: string[] = [];
  const req = request(served.url + '/live');
  const got = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      assert.match(res.headers['content-type'] ?? '', /text\/event-stream/);
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        chunks.push(d);
        const all = chunks.join('');
        if (all.includes('event: hello') && !all.includes('event: change')) {
          cell.timeMs += 1000;
          cell.report('test/alice/web/2', EventType.FINISH, 'done');
        }
        const m = /event: change\ndata: (.*)\n\n/.exec(all);
        if (m !== null) resolve(m[1] as string);
      });
    });
    req.on('error', reject);
  });
  req.end();
  try {
    const notice = JSON.parse(await got) as { logIndex: number; all: boolean; tasks: string[]; jobs: string[]; events: number };
    assert.equal(notice.all, false);
    assert.ok(notice.tasks.includes('test/alice/web/2'), JSON.stringify(notice));
    assert.ok(notice.jobs.includes('test/alice/web'));
    assert.equal(notice.logIndex, cell.state.appliedIndex);
    assert.ok(notice.events >= 1);
  } finally {
    req.destroy();
  }
});

test('live streams are bounded: past the limit a client gets 503', async () => {
  const small = await serveStatus(cell, { coalesceMs: 20 });
  // serveStatus uses the default bound; open a server with a bound of 1 through the same source.
  const { StatusServer } = await import('../borgmaster/status/index');
  const one = new StatusServer({ source: small.source, live: { maxClients: 1 } });
  const url = await one.start();
  const first = new AbortController();
  try {
    const r1 = await fetch(url + '/live', { signal: first.signal });
    assert.equal(r1.status, 200);
    const r2 = await fetch(url + '/live');
    assert.equal(r2.status, 503);
    assert.match(await r2.text(), /too many live pages open on this replica \(limit 1\)/);
  } finally {
    first.abort();
    await one.close();
    await small.close();
  }
});
