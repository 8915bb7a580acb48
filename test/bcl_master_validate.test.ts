// BCL and the master agree: every JobSpec BCL produces (goldens, examples, and every fuzz input that evaluates)
// passes the master's admission validation (borgmaster/state/validate.ts) unchanged in meaning, so a job that
// `borg eval` accepts is never refused at submit for a field BCL could have pointed at.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateFile } from '../bcl/index';
import { runFuzz } from '../bcl/fuzz';
import { validateJobSpec } from '../borgmaster/state/validate';
import { TaskSpec, type JobSpec } from '../proto/index';

const root = fileURLToPath(new URL('..', import.meta.url));

function admit(spec: JobSpec): void {
  const v = validateJobSpec(spec, 'spec', spec.cell);
  // The master normalises (sorted maps, max_tasks_down >= 1); the tasks it will run must be the same
  // (deepEqual ignores key order).
  assert.deepEqual(TaskSpec.toJSON(v.task as TaskSpec), TaskSpec.toJSON(spec.task as TaskSpec));
  assert.deepEqual(
    v.overrides.map((o) => [o.index, TaskSpec.toJSON(o.spec as TaskSpec)]),
    spec.overrides.map((o) => [o.index, TaskSpec.toJSON(o.spec as TaskSpec)]),
  );
  assert.equal(v.taskCount, spec.taskCount);
  assert.equal(v.priority, spec.priority);
}

test('every golden and example job passes the master validation', () => {
  const files = [
    ...readdirSync(join(root, 'bcl', 'testdata')).filter((f) => f.endsWith('.bcl')).map((f) => join(root, 'bcl', 'testdata', f)),
    ...['web.bcl', 'batch.bcl', 'lambdas.bcl'].map((f) => join(root, 'examples', f)),
  ];
  let jobs = 0;
  for (const f of files) {
    for (const spec of evaluateFile(f).jobs) {
      assert.doesNotThrow(() => admit(spec), `${f}: job ${spec.name}`);
      jobs++;
    }
  }
  assert.ok(jobs >= 25, `${jobs} jobs checked`);
});

test('fuzz: every random input that evaluates yields jobs the master admits', () => {
  const r = runFuzz({ runs: 1500, seed: 99, check: (jobs) => jobs.forEach(admit) });
  assert.deepEqual(r.failures.map((f) => `${f.kind}: ${f.detail.split('\n')[0]} <- ${JSON.stringify(f.input).slice(0, 200)}`), []);
  assert.ok(r.evaluated > 100, `${r.evaluated} inputs evaluated`);
});
