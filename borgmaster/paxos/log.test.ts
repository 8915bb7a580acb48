// PaxosLog against a plain map of slots: seeded runs of puts, settles and compactions (values from empty to above a
// chunk, so settled encodings fill, straddle and outgrow the 1 MiB chunks) must read back the same entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng } from '../../model/rng';
import type { PaxosEntry } from '../../proto/index';
import { PaxosLog } from './log';

function entry(rng: SeededRng, slot: number): PaxosEntry {
  const r = rng.next();
  const length = r < 0.01 ? (1 << 20) + rng.int(1000) : r < 0.1 ? 0 : rng.int(60_000);
  const noop = length === 0 && rng.next() < 0.5;
  return { slot, ballot: rng.next() < 0.05 ? undefined : { round: rng.int(5), replica: rng.int(4) }, noop, value: Buffer.alloc(length, slot % 251) };
}

test('PaxosLog reads back what was put, before and after settling and compacting', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new SeededRng(seed);
    const model = new Map<number, PaxosEntry>();
    let base = rng.int(3) * 1000;
    let settled = base;
    const log = new PaxosLog(base, []);
    let last = base;
    const check = (): void => {
      assert.equal(log.snapshotIndex, base);
      assert.equal(log.lastSlot, last);
      for (let s = base - 2; s <= last + 2; s++) assert.deepEqual(log.get(s), s > base ? model.get(s) : undefined, `seed ${seed} slot ${s}`);
      const from = base + rng.int(last - base + 2);
      const to = from + rng.int(50);
      assert.deepEqual(
        log.slice(from, to),
        [...model.values()].filter((e) => e.slot >= from && e.slot <= to && e.slot > base).sort((a, b) => a.slot - b.slot),
      );
    };
    for (let step = 0; step < 300; step++) {
      const r = rng.next();
      if (r < 0.6) {
        // A new slot (possibly past a hole), or a new value in an unsettled one.
        const slot = rng.next() < 0.8 || last === settled ? last + 1 + (rng.next() < 0.1 ? rng.int(3) : 0) : settled + 1 + rng.int(last - settled);
        const e = entry(rng, slot);
        log.put(e);
        model.set(slot, e);
        last = Math.max(last, slot);
      } else if (r < 0.9) {
        // Settle a prefix without holes, as the core does for chosen slots.
        let through = settled;
        while (through < last && model.has(through + 1) && rng.next() < 0.9) through++;
        log.settle(through);
        settled = Math.max(settled, through);
      } else {
        const index = base + rng.int(last - base + 3);
        log.compact(index);
        if (index > base) {
          for (const s of [...model.keys()]) if (s <= index) model.delete(s);
          base = index;
          settled = Math.max(settled, index);
          last = Math.max(last, index);
        }
      }
      check();
    }
    if (settled > base) assert.throws(() => log.put(entry(rng, settled)), /put into settled slot/);
  }
});
