import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadCellConfig, parseCellConfig, CellConfigError } from './config';
import { PriorityBand } from '../model/priority';
import { GiB } from '../model/resources';

const localYaml = fileURLToPath(new URL('./local.yaml', import.meta.url));

test('the default local cell loads', () => {
  const c = loadCellConfig(localYaml, '/base');
  assert.equal(c.name, 'local');
  assert.equal(c.replicas.length, 3);
  assert.equal(c.replicas[0]!.dataDir, '/base/.borg/local/replica-1');
  assert.equal(c.scheduler.policy, 'hybrid');
  assert.equal(c.reclamation.startDelayMs, 300_000);
  assert.equal(c.machines.length, 4);
  assert.deepEqual(c.machines[0]!.capacity, { cpuMillis: 500, ramBytes: 2 * GiB, diskBytes: 10 * GiB, ports: 100 });
  assert.deepEqual(c.machines.map((m) => m.portBase), [20000, 20100, 20200, 20300], 'machines carved out of one host get disjoint port ranges');
  assert.equal(c.quotas[0]!.band, PriorityBand.PRODUCTION);
  assert.equal(c.bns.redis, '127.0.0.1:6379');
});

const minimal = (extra: string) => `cell: c1
replicas:
  - { id: 1, address: "127.0.0.1:1", statusAddress: "127.0.0.1:2", dataDir: d1 }
${extra}`;

test('defaults fill what a minimal file leaves out', () => {
  const c = parseCellConfig(minimal(''));
  assert.equal(c.scheduler.policy, 'hybrid');
  assert.equal(c.reclamation.startDelayMs, 300_000);
  assert.equal(c.paxos.electionTicks, 10);
  assert.equal(c.bns.redis, undefined);
  assert.deepEqual(c.machines, []);
});

test('invalid files name the file, line, column and field', () => {
  const rows: [string, string][] = [
    ['cell: c1\nreplicas: [', 'f.yaml:2:'],
    [minimal('scheduler: { policy: first }'), 'f.yaml:4:22: scheduler.policy: must be one of worst, best, hybrid, got string "first"'],
    [minimal('scheduler: { polcy: best }'), 'f.yaml:4:14: scheduler.polcy: unknown field; did you mean "policy"?'],
    [minimal('machines:\n  - { name: m1, capacity: { cpu: lots } }'), 'f.yaml:5:34: machines[0].capacity.cpu: "lots" is not a CPU quantity (e.g. "500m" or "2")'],
    [minimal('machines:\n  - { name: m1, capacity: { ram: -5 } }'), 'machines[0].capacity.ram: size must be a non-negative number'],
    [minimal('machines:\n  - { name: M1, capacity: {} }'), 'machines[0].name: "M1" is not a valid machine name'],
    [minimal('machines:\n  - { name: m1, capacity: {} }\n  - { name: m1, capacity: {} }'), 'f.yaml:6:13: machines[1].name: duplicate "m1" (also at machines[0].name)'],
    [minimal('paxos: { electionTicks: 5, leaseTicks: 6 }'), 'paxos.leaseTicks: must be below electionTicks (5)'],
    [minimal('quotas:\n  - { user: ubar, priority: urgent, limit: {} }'), 'quotas[0].priority: unknown priority "urgent"'],
    [minimal('bns: { redis: "localhost" }'), 'bns.redis: "localhost" is not host:port'],
    [minimal('machines:\n  - { name: m1, address: "127.0.0.1:1", capacity: { ports: 100 } }\n  - { name: m2, address: "127.0.0.1:2", capacity: { ports: 100 }, portBase: 20050 }'), 'machines[1].portBase: task ports [20050, 20150) overlap those of m1 on the same host 127.0.0.1'],
    [minimal('machines:\n  - { name: m1, capacity: { ports: 100 }, portBase: 65500 }'), 'machines[0].portBase: ports [65500, 65600) run past 65535'],
    [minimal('machines:\n  - { name: m1, capacity: {}, portBase: 80 }'), 'machines[0].portBase: must be in [1024, 65535], got 80'],
    ['cell: c1\nreplicas:\n  - { id: 1, address: "a:1", statusAddress: "a:2", dataDir: d }\n  - { id: 2, address: "a:3", statusAddress: "a:4", dataDir: e }', 'replicas: a cell has 1, 3 or 5 replicas, got 2'],
    ['cell: Big Cell\nreplicas: []', 'cell: "Big Cell" is not a valid name'],
    ['replicas: []', 'f.yaml:1:1: cell: is required'],
    ['', '(top): must be a mapping, got nothing'],
  ];
  for (const [text, want] of rows) {
    assert.throws(
      () => parseCellConfig(text, 'f.yaml'),
      (e: unknown) => e instanceof CellConfigError && e.message.includes(want),
      `expected an error containing ${JSON.stringify(want)}`,
    );
  }
});

test('a missing file is a clear error', () => {
  assert.throws(() => loadCellConfig('/nonexistent/cell.yaml'), /cannot read cell config \/nonexistent\/cell.yaml/);
});
