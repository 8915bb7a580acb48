// Property tests (fast-check): random well-formed programs evaluate deterministically, and `fmt` is idempotent
// and keeps their meaning (same values, same jobs, or the same error). Programs are generated with random
// layout (line breaks, comments, blank lines, trailing commas) so the formatter has something to normalise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BclError, evaluateModule, format, toJobSpecs, toJson, type Json } from './index';
import { JobSpec } from '../proto/index';
import { program } from './gen';

const NUM_RUNS = Number(process.env.BCL_PROPERTY_RUNS ?? 300);

type Outcome = { ok: true; names: Json; jobs: unknown } | { ok: false; problem: string };

function run(text: string): Outcome {
  try {
    const m = evaluateModule(text, 'p.bcl', { readFile: () => assert.fail('no imports here') });
    const names: Json[] = [...m.names].map(([k, b]) => [k, toJson(b.value, { left: 100_000 })]);
    return { ok: true, names, jobs: toJobSpecs(m.jobs).map((j) => JobSpec.toJSON(j)) };
  } catch (e: unknown) {
    if (e instanceof BclError) return { ok: false, problem: e.problem };
    throw e;
  }
}

test('random programs evaluate deterministically', () => {
  fc.assert(
    fc.property(program, (text) => {
      assert.deepEqual(run(text), run(text));
    }),
    { numRuns: NUM_RUNS, seed: 42 },
  );
});

test('fmt is idempotent and keeps the meaning of random programs', () => {
  let evaluated = 0;
  fc.assert(
    fc.property(program, (text) => {
      const once = format(text, 'p.bcl');
      assert.equal(format(once, 'p.bcl'), once);
      const before = run(text);
      assert.deepEqual(run(once), before);
      if (before.ok) evaluated++;
    }),
    { numRuns: NUM_RUNS, seed: 7 },
  );
  // The generator must mostly produce programs that evaluate, or the property says little.
  assert.ok(evaluated > NUM_RUNS / 2, `only ${evaluated} of ${NUM_RUNS} programs evaluated`);
});

test('fmt output is stable under random whitespace: reformatting a reflowed program gives the same text', () => {
  fc.assert(
    fc.property(program, (text) => {
      const spaced = text.replace(/ = /g, '  =   ').replace(/, /g, ' ,  ');
      assert.equal(format(spaced, 'p.bcl'), format(text, 'p.bcl'));
    }),
    { numRuns: Math.ceil(NUM_RUNS / 3), seed: 11 },
  );
});
