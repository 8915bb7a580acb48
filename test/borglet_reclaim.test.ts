// Reclamation with a short delay (B15 §5.5), on a real process: an idle task's reservation stays at its limit
// until the start delay, then decays step by step toward its usage plus the safety margin, and snaps back up at
// once when the task starts using memory. Parameters come from a cell config file (--cell) with flag overrides.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESERVATION_QUANTUM_RAM_BYTES } from '../cells/limits';
import { sandboxDir } from '../borglet/runtime';
import { TestMachine, PollClient, spec, task, find, waitFor, MiB } from './borglet_support';

const m = new TestMachine('reclaim');
let c: PollClient | undefined;
after(async () => {
  c?.close();
  await m.cleanup();
});

test('an idle reservation decays toward usage + margin and snaps back when usage rises', async () => {
  const cell = join(m.stateDir, 'cell.yaml');
  writeFileSync(cell, `cell: test
replicas:
  - { id: 1, address: "127.0.0.1:1", statusAddress: "127.0.0.1:2", dataDir: /nonexistent }
reclamation: { startDelay: 300s, interval: 10s, safetyMargin: 0.1, decay: 0.5 }
security: { tls: false }
`);
  const d = await m.start(['--cell', cell, '--reclaim-start', '1500ms', '--reclaim-interval', '200ms', '--sample-interval', '100ms', '--cpu', '1', '--ram', '1GiB']);
  c = new PollClient(d.address);
  const limit = 256 * MiB;
  const margin = 0.1 * limit;
  // Idle until the test creates `go` in its working directory, then hold ~100MB (tail keeps newline-free input).
  const t = task(0, spec('/bin/sh', ['-c', 'while [ ! -e go ]; do sleep 0.05; done; { head -c 100000000 /dev/zero; sleep 1000; } | tail > /dev/null'], { ramBytes: limit }));
  const ballot = { round: 1, replica: 1 };
  const started = Date.now();
  await c.poll(ballot, [t]);
  const seen: number[] = [];
  const settled = await waitFor('the reservation to settle near usage + margin', async () => {
    const s = find(await c!.poll(ballot, [t]), t.taskId);
    const res = s.reservation?.ramBytes ?? -1;
    if (seen[seen.length - 1] !== res) seen.push(res);
    if (Date.now() - started < 1_300) assert.equal(res, limit, 'the reservation is the limit during the start delay');
    return res <= margin + 2 * RESERVATION_QUANTUM_RAM_BYTES ? s : undefined;
  }, 15_000, 50);
  assert.equal(seen[0], limit);
  assert.ok(seen.length >= 3, `decayed in steps, not at once: ${seen.map((x) => x / MiB).join(' -> ')} MiB`);
  for (let i = 1; i < seen.length; i++) assert.ok((seen[i] as number) < (seen[i - 1] as number), 'monotone decay');
  assert.ok((settled.reservation?.ramBytes ?? 0) >= margin, 'never below usage + margin');
  assert.ok((settled.usage?.ramBytes ?? 0) < 8 * MiB, 'the task is idle');

  // The task's working directory: the state dir is a mktemp dir, out of nobody's reach, so its sandbox is elsewhere.
  writeFileSync(join(sandboxDir('test', m.name), 'test.u.job.0', 'go'), '');
  const grown = await waitFor('usage to rise', async () => {
    const s = find(await c!.poll(ballot, [t]), t.taskId);
    return (s.usage?.ramBytes ?? 0) >= 80 * MiB ? s : undefined;
  }, 15_000, 20);
  const usage = grown.usage?.ramBytes ?? 0;
  const res = grown.reservation?.ramBytes ?? 0;
  assert.ok(res >= Math.min(limit, usage + margin), `snapped up with the very sample that saw the usage: usage ${usage / MiB} MiB, reservation ${res / MiB} MiB`);
  assert.equal(res % RESERVATION_QUANTUM_RAM_BYTES, 0, 'quantised');
  await c.poll(ballot, []);
});
