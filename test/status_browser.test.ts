// Browser tests of the status page (issue 8): Debian's Chromium through playwright-core against a StatusServer
// fed by a real CellState driven with real commands (machines, quotas, jobs, a real scheduler pass committed
// through CommitPlan, Borglet-style transitions). Opens every page, follows links cell -> job -> task -> machine,
// reads a pending task's why-pending verdict, watches a task change state live, and checks that a hostile env
// value renders as text. Screenshots: test-artifacts/status/*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readSync, closeSync, fstatSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GiB, MiB } from '../model/resources';
import { EventType, MachineState } from '../proto/index';
import { bodies } from '../borgmaster/state/index';
import { DrivenCell, serveStatus, type ServedCell } from './support/status_cell';
import { collectPageErrors, screenshot, withBrowser } from './support/browser';

const HOSTILE = '<img src=x onerror=alert(1)>';
const SHOTS = 'status';

let cell: DrivenCell;
let served: ServedCell;
let tmp: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'borg-status-'));
  // A real process writes the log file; the reader returns its tail, as the Borglet's TaskLogs does.
  const logFile = join(tmp, 'web-0.stdout');
  execFileSync('/bin/sh', ['-c', `for i in $(seq 1 400); do echo "serving request $i"; done; echo '<script>alert(2)</script> done' `], { stdio: ['ignore', openSync(logFile, 'w'), 'inherit'] });
  cell = new DrivenCell('test');
  cell.logs = async (_taskId, _machine, _stream, tailBytes) => {
    const fd = openSync(logFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const n = Math.min(size, tailBytes, 2048);
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, size - n);
      return { text: buf.toString('utf8'), truncated: n < size };
    } finally {
      closeSync(fd);
    }
  };
  for (let i = 0; i < 8; i++) cell.addMachine(`m${i}`, { cpuMillis: 8000, ramBytes: 32 * GiB }, { rack: `rack-${i % 2}`, attributes: { arch: 'x86_64' } });
  cell.must(bodies.setMachineState('m6', MachineState.DRAINING, 'kernel upgrade'));
  cell.must(bodies.setMachineState('m7', MachineState.DOWN, 'disk failure'));
  cell.quota('alice', 200, { cpuMillis: 20_000, ramBytes: 64 * GiB, ports: 64 });
  cell.quota('carol', 360, { cpuMillis: 4_000, ramBytes: 8 * GiB });
  cell.quota('bob', 100, { cpuMillis: 200_000, ramBytes: 200 * GiB });
  cell.createJob({
    name: 'web',
    user: 'alice',
    priority: 200,
    taskCount: 6,
    annotations: { owner: HOSTILE },
    task: { command: '/usr/bin/web', args: ['--port=%port%', HOSTILE], env: { GREETING: HOSTILE, MODE: 'prod' }, requirements: { cpuMillis: 1500, ramBytes: 2 * GiB, diskBytes: 0, ports: 2 } },
  });
  cell.createJob({ name: 'monitor', user: 'carol', priority: 360, taskCount: 2, task: { requirements: { cpuMillis: 500, ramBytes: 512 * MiB, diskBytes: 0, ports: 0 } } });
  cell.createJob({ name: 'crunch', user: 'bob', priority: 100, taskCount: 10, task: { requirements: { cpuMillis: 2000, ramBytes: 4 * GiB, diskBytes: 0, ports: 0 } } });
  // Needs more CPU than any machine has: stays pending with a verdict.
  cell.createJob({ name: 'huge', user: 'bob', priority: 100, taskCount: 1, task: { requirements: { cpuMillis: 64_000, ramBytes: 8 * GiB, diskBytes: 0, ports: 0 } } });
  cell.timeMs += 5_000;
  const pass = await cell.schedulePass();
  assert.ok(pass.placed >= 8, `placed ${pass.placed}`);
  cell.timeMs += 60_000;
  // Usage samples, as link shards record them from Borglet replies.
  for (const j of cell.state.jobs.values()) {
    for (const t of j.tasks) if (t.machine !== undefined) cell.usage.recordTask(t.id, { cpuMillis: 400 + t.index * 50, ramBytes: 700 * MiB, diskBytes: 0, ports: 0 }, cell.timeMs);
  }
  for (const m of cell.state.machines.values()) cell.usage.recordMachine(m.name, { cpuMillis: m.tasks.size * 450, ramBytes: m.tasks.size * 700 * MiB, diskBytes: 0, ports: 0 }, cell.timeMs);
  served = await serveStatus(cell);
  served.metrics.observePass(pass.passSeconds);
});

after(async () => {
  await served?.close();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

test('every page opens; links lead cell -> job -> task -> machine; user values render as text', { timeout: 120_000 }, async () => {
  await withBrowser(async (page) => {
    const seen = collectPageErrors(page);
    page.setDefaultTimeout(15_000);
    await page.goto(served.url + '/');
    assert.match(await page.title(), /Cell test/);
    assert.equal(await page.locator('#charts svg').count(), 4, 'one band chart per resource');
    assert.match((await page.locator('#replica').textContent()) ?? '', /leader · authoritative/);
    assert.equal(await page.locator('#replicas tbody tr').count(), 3);
    assert.match((await page.locator('.tiles').textContent()) ?? '', /1\s*draining/);
    await page.locator('#live.on').waitFor();
    await screenshot(page, SHOTS, '1-cell');

    await page.click('nav >> text=Jobs');
    await page.waitForURL(/\/jobs$/);
    assert.equal(await page.locator('#jobs tbody tr').count(), 4);
    await screenshot(page, SHOTS, '2-jobs');
    await page.click('#jobs >> text=test/alice/web');
    await page.waitForURL(/\/job\/alice\/web$/);
    assert.match((await page.locator('table.grid').last().textContent()) ?? '', /0\.web\.alice\.test\.borg/, 'BNS names on the job page');
    assert.equal(await page.locator('.spec .env-value').first().textContent(), HOSTILE);
    await screenshot(page, SHOTS, '3-job');

    await page.click('tr[data-task="test/alice/web/0"] >> a >> nth=0');
    await page.waitForURL(/\/task\/alice\/web\/0$/);
    // The hostile value is text: visible as written, no <img> element anywhere, no alert.
    const envTexts = await page.locator('.env-value').allTextContents();
    assert.ok(envTexts.includes(HOSTILE), `env rendered as text: ${JSON.stringify(envTexts)}`);
    assert.equal(await page.locator('img').count(), 0);
    assert.match((await page.locator('#log-tail').textContent()) ?? '', /<script>alert\(2\)<\/script> done/);
    assert.equal(await page.locator('script:not([src])').count(), 0);
    await screenshot(page, SHOTS, '4-task');

    const machine = ((await page.locator('#task-machine').textContent()) ?? '').trim();
    assert.match(machine, /^m\d$/);
    await page.click('#task-machine a');
    await page.waitForURL(new RegExp(`/machine/${machine}$`));
    assert.ok((await page.locator('tr[data-task="test/alice/web/0"]').count()) === 1, 'the machine lists the task');
    assert.ok((await page.locator('svg.meter').count()) >= 2);
    await screenshot(page, SHOTS, '5-machine');

    await page.goto(served.url + '/tasks?sort=machine');
    assert.equal(await page.locator('th a.on').textContent(), 'machine ▲');
    await screenshot(page, SHOTS, '6-tasks');

    await page.goto(served.url + '/events');
    await page.selectOption('select[name=type]', 'SCHEDULE');
    await page.click('form.filters button');
    await page.waitForURL(/type=SCHEDULE/);
    const types = await page.locator('table.events tbody td:nth-child(3)').allTextContents();
    assert.ok(types.length > 0 && types.every((t) => t === 'SCHEDULE'), `types ${types.join(',')}`);
    await screenshot(page, SHOTS, '7-events');
    assert.deepEqual(seen.dialogs, [], 'no script from user values ran');
    assert.deepEqual(seen.errors, []);
  });
});

test('a pending task shows why it is pending', { timeout: 60_000 }, async () => {
  await withBrowser(async (page) => {
    page.setDefaultTimeout(15_000);
    await page.goto(served.url + '/tasks?state=PENDING&job=huge');
    await page.click('tr[data-task="test/bob/huge/0"] >> a >> nth=0');
    const why = (await page.locator('#why-pending').textContent()) ?? '';
    // The real scheduler's verdict, kept by CommitPlan: no UP machine has 64 cores.
    assert.match(why, /0\/8 machines feasible/);
    assert.match(why, /insufficient cpu/);
    await screenshot(page, SHOTS, '8-pending-task');
  });
});

test('the heat map draws every machine and a click opens it', { timeout: 60_000 }, async () => {
  await withBrowser(async (page) => {
    page.setDefaultTimeout(15_000);
    await page.goto(served.url + '/machines');
    const canvas = page.locator('#heatmap[data-drawn]');
    await canvas.waitFor();
    assert.equal(await canvas.getAttribute('data-count'), '8');
    const cellPx = Number(await canvas.getAttribute('data-cell'));
    await screenshot(page, SHOTS, '9-machines');
    // Machines are drawn in the order of /machines.json; m3 is the fourth.
    await canvas.click({ position: { x: 3 * cellPx + cellPx / 2, y: cellPx / 2 } });
    await page.waitForURL(/\/machine\/m3$/);
  });
});

test('a task changes state live, without a reload', { timeout: 60_000 }, async () => {
  await withBrowser(async (page) => {
    page.setDefaultTimeout(15_000);
    const id = 'test/alice/web/1';
    const before = cell.task(id);
    assert.equal(before.machine !== undefined, true, 'task 1 runs');
    await page.goto(served.url + '/task/alice/web/1');
    assert.equal(await page.locator('#task-state').textContent(), 'RUNNING');
    await page.locator('#live.on').waitFor();
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
    });
    cell.timeMs += 1_000;
    cell.report(id, EventType.FAIL, 'exit status 3', 3);
    await page.locator('#task-state', { hasText: 'PENDING' }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'same document: no reload');
    assert.match((await page.locator('#why-pending').textContent()) ?? '', /restart back-off/);
    assert.match((await page.locator('table.events').textContent()) ?? '', /FAIL/);
    await screenshot(page, SHOTS, '10-task-live');
  });
});

test('a follower shows its lag and is not marked authoritative', { timeout: 60_000 }, async () => {
  const follower = await serveStatus(cell, { follower: 3 });
  try {
    await withBrowser(async (page) => {
      await page.goto(follower.url + '/');
      const badge = (await page.locator('#replica').textContent()) ?? '';
      assert.match(badge, /follower · 3 entries behind · leader is replica 1/);
      assert.doesNotMatch(badge, /authoritative/);
      await screenshot(page, SHOTS, '11-follower');
    });
  } finally {
    await follower.close();
  }
});
