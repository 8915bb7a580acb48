// A short fuzz run in CI (the long one is `node --import tsx bcl/fuzz.ts --runs 100000`, see bcl/README.md):
// a few thousand random inputs, of which only BclErrors may come out, none slow, fmt stable on all that parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz } from './fuzz';

test('fuzz: 3000 random inputs produce only BclErrors, no hang, no fmt instability', () => {
  const r = runFuzz({ runs: 3000, seed: 20261126, maxInputMs: 5_000 });
  assert.deepEqual(
    r.failures.map((f) => `${f.kind}: ${f.detail.split('\n')[0]} <- ${JSON.stringify(f.input).slice(0, 300)}`),
    [],
  );
  assert.equal(r.runs, 3000);
  // The run is only worth something if inputs reach past the parser.
  assert.ok(r.parsed > 300 && r.evaluated > 200, `parsed ${r.parsed}, evaluated ${r.evaluated}`);
});
