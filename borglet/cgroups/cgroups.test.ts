// cgroup drivers: detection tables, v2 file formats against a temp dir, and the v1 driver (and v2 lifecycle on
// the host's cgroup2 mount, where present) with real processes as root.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseDriver, parseMountinfo, CgroupV2Driver, detectCgroupDriver, sharesFromCpuMillis, weightFromShares, type CgroupDriver } from './index';
import { parseMountinfo as pm } from './detect';

const MOUNTINFO_V1 = `
25 1 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
28 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
29 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
30 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;
const MOUNTINFO_COMOUNT = `
26 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
28 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory
29 25 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids`;
const MOUNTINFO_V2 = `35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate`;
const MOUNTINFO_V1_NO_PIDS = `28 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory`;

test('detection picks the driver from mountinfo', () => {
  const all = ['memory', 'cpu', 'pids'];
  const rows: { name: string; text: string; controllers: string[]; want: string }[] = [
    { name: 'hybrid host uses v1', text: MOUNTINFO_V1, controllers: ['hugetlb'], want: 'v1:/sys/fs/cgroup/cpu' },
    { name: 'co-mounted cpu,cpuacct', text: MOUNTINFO_COMOUNT, controllers: [], want: 'v1:/sys/fs/cgroup/cpu,cpuacct' },
    { name: 'unified host uses v2', text: MOUNTINFO_V2, controllers: all, want: 'v2:/sys/fs/cgroup' },
    { name: 'v2 without memory', text: MOUNTINFO_V2, controllers: ['pids'], want: 'none' },
    { name: 'v1 missing pids', text: MOUNTINFO_V1_NO_PIDS, controllers: [], want: 'none' },
    { name: 'nothing mounted', text: '', controllers: [], want: 'none' },
  ];
  for (const r of rows) {
    const c = chooseDriver(parseMountinfo(r.text), () => r.controllers);
    const got = c.kind === 'v1' ? `v1:${c.mounts.cpu}` : c.kind === 'v2' ? `v2:${c.root}` : 'none';
    assert.equal(got, r.want, r.name);
    if (c.kind === 'v1' && r.name === 'co-mounted cpu,cpuacct') assert.equal(c.mounts.cpuacct, c.mounts.cpu);
  }
  assert.deepEqual(pm('1 2 0:1 / /a\\040b rw - cgroup2 cgroup2 rw').v2, ['/a b']);
});

test('shares and weights follow the request', () => {
  assert.equal(sharesFromCpuMillis(1000), 1024);
  assert.equal(sharesFromCpuMillis(0), 2);
  assert.equal(sharesFromCpuMillis(500), 512);
  assert.equal(weightFromShares(2), 1);
  assert.equal(weightFromShares(262_144), 10_000);
  assert.equal(weightFromShares(1024), 39);
});

test('v2 driver writes the unified formats and reads usage (temp dir)', () => {
  const root = mkdtempSync(join(tmpdir(), 'borg-cg2-'));
  try {
    for (const d of [root, join(root, 'borg'), join(root, 'borg', 'm1')]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      writeFileSync(join(d, 'cgroup.subtree_control'), '');
    }
    writeFileSync(join(root, 'borg', 'm1', 'memory.max'), 'max\n');
    writeFileSync(join(root, 'borg', 'm1', 'cpu.max'), 'max 100000\n');
    const d = new CgroupV2Driver(root, 'm1');
    d.setupMachine({ memoryBytes: 1 << 30, cpuMillis: 1500 });
    assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+memory +cpu +pids');
    assert.equal(readFileSync(join(root, 'borg', 'm1', 'memory.max'), 'utf8'), String(1 << 30));
    assert.equal(readFileSync(join(root, 'borg', 'm1', 'cpu.max'), 'utf8'), '150000 100000');
    d.create('t1');
    writeFileSync(join(root, 'borg', 'm1', 't1', 'memory.swap.max'), 'max');
    d.setLimits('t1', { memoryBytes: 64 << 20, cpuShares: 1024, cpuQuotaMillis: null, pidsMax: 100 });
    const f = (n: string): string => readFileSync(join(root, 'borg', 'm1', 't1', n), 'utf8');
    assert.equal(f('memory.max'), String(64 << 20));
    assert.equal(f('memory.swap.max'), '0');
    assert.equal(f('cpu.weight'), '39');
    assert.equal(f('cpu.max'), 'max 100000');
    assert.equal(f('pids.max'), '100');
    d.setCpuQuota('t1', 250);
    assert.equal(f('cpu.max'), '25000 100000');
    writeFileSync(join(root, 'borg', 'm1', 't1', 'memory.current'), '50000000\n');
    writeFileSync(join(root, 'borg', 'm1', 't1', 'memory.stat'), 'anon 40000000\ninactive_file 10000000\n');
    writeFileSync(join(root, 'borg', 'm1', 't1', 'cpu.stat'), 'usage_usec 1500\nthrottled_usec 20\nnr_throttled 3\n');
    writeFileSync(join(root, 'borg', 'm1', 't1', 'memory.events'), 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n');
    writeFileSync(join(root, 'borg', 'm1', 't1', 'cgroup.procs'), '12\n34\n');
    assert.deepEqual(d.usage('t1'), { memoryBytes: 40_000_000, cpuUsageNs: 1_500_000, cpuThrottledNs: 20_000, nrThrottled: 3, oomKills: 1, memoryLimitHits: 7 });
    assert.deepEqual(d.pids('t1'), [12, 34]);
    assert.deepEqual(d.list(), ['t1']);
    assert.deepEqual(d.procsFiles('t1'), [join(root, 'borg', 'm1', 't1', 'cgroup.procs')]);
    assert.throws(() => d.create('Bad/Name'), /bad cgroup name/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const children: ChildProcess[] = [];
const drivers: CgroupDriver[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of drivers) d.destroyMachine();
});

/** startIn runs `sh -c script` after the shell joined the group (the same order the Borglet uses). */
function startIn(d: CgroupDriver, name: string, script: string): ChildProcess {
  const join = d.procsFiles(name).map((f) => `echo $$ > ${f}`).join(' && ');
  const c = spawn('/bin/sh', ['-c', `${join} && ${script}`], { stdio: 'ignore' });
  children.push(c);
  return c;
}

async function waitFor(what: string, f: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const machine = `cgtest-${process.pid}`;
const isV1 = existsSync('/sys/fs/cgroup/memory/cgroup.procs');

test('v1 driver: limits, placement, usage, OOM counting, kill and removal (real cgroups)', { skip: !isV1 && 'host has no cgroup v1' }, async () => {
  const d = detectCgroupDriver(machine, 'v1');
  drivers.push(d);
  assert.equal(d.version, 'v1');
  d.setupMachine({ memoryBytes: 256 << 20, cpuMillis: 1000 });
  assert.equal(readFileSync(`/sys/fs/cgroup/memory/borg/${machine}/memory.limit_in_bytes`, 'utf8').trim(), String(256 << 20));
  assert.equal(readFileSync(`/sys/fs/cgroup/cpu/borg/${machine}/cpu.cfs_quota_us`, 'utf8').trim(), '100000');
  d.create('a');
  d.create('b');
  d.setLimits('a', { memoryBytes: 16 << 20, cpuShares: 512, cpuQuotaMillis: 200, pidsMax: 64 });
  d.setLimits('b', { memoryBytes: 64 << 20, cpuShares: 1024, cpuQuotaMillis: null, pidsMax: 64 });
  assert.equal(readFileSync(`/sys/fs/cgroup/cpu/borg/${machine}/a/cpu.shares`, 'utf8').trim(), '512');
  assert.equal(readFileSync(`/sys/fs/cgroup/cpu/borg/${machine}/a/cpu.cfs_quota_us`, 'utf8').trim(), '20000');
  assert.equal(readFileSync(`/sys/fs/cgroup/pids/borg/${machine}/a/pids.max`, 'utf8').trim(), '64');
  assert.deepEqual(d.list(), ['a', 'b']);

  // a: `tail` buffers its newline-free input, so it grows until the kernel OOM-kills it inside the group.
  const hog = startIn(d, 'a', 'head -c 200000000 /dev/zero | tail > /dev/null');
  const sleeper = startIn(d, 'b', 'exec sleep 30');
  await waitFor('the sleeper to join b', () => d.pids('b').includes(sleeper.pid ?? -1));
  await new Promise<void>((r) => hog.on('exit', () => r()));
  assert.ok(d.usage('a').oomKills >= 1, 'the kernel OOM-killed inside a');
  assert.equal(d.usage('b').oomKills, 0, 'the neighbour was not OOM-killed');
  assert.ok(d.usage('b').memoryBytes < 64 << 20);
  assert.ok(d.machineUsage().cpuUsageNs >= d.usage('a').cpuUsageNs);

  assert.equal(d.remove('b'), false, 'a group with a live process is busy');
  d.setCpuQuota('b', null);
  assert.equal(d.kill('b', 'SIGTERM'), 1);
  await waitFor('the sleeper to exit', () => d.pids('b').length === 0);
  assert.equal(d.remove('b'), true);
  assert.equal(d.exists('b'), false);
  d.destroyMachine();
  assert.equal(existsSync(`/sys/fs/cgroup/memory/borg/${machine}`), false);
  assert.equal(existsSync(`/sys/fs/cgroup/cpu/borg/${machine}`), false);
});

const unified = '/sys/fs/cgroup/unified';
test('v2 driver lifecycle on the host cgroup2 mount: join, list, kill, remove (real cgroups)', { skip: !existsSync(`${unified}/cgroup.procs`) && 'no cgroup2 mount at /sys/fs/cgroup/unified' }, async () => {
  const d = new CgroupV2Driver(unified, machine);
  drivers.push(d);
  d.setupMachine({ memoryBytes: null, cpuMillis: null });
  d.create('t');
  const c = startIn(d, 't', 'exec sleep 30');
  await waitFor('the process to join', () => d.pids('t').includes(c.pid ?? -1));
  assert.deepEqual(d.list(), ['t']);
  d.kill('t', 'SIGKILL');
  await waitFor('the group to empty', () => d.pids('t').length === 0);
  assert.equal(d.remove('t'), true);
  d.destroyMachine();
  assert.equal(existsSync(`${unified}/borg/${machine}`), false);
});
