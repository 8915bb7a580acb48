// Golden tests: every language feature has a file in bcl/testdata/ and the JobSpec JSON it must evaluate to.
// Each golden (and each example) must also survive `fmt`: formatting is idempotent and keeps the meaning.
// Regenerate after an intended change with: BCL_UPDATE_GOLDEN=1 npm test -- bcl/golden
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateFile, evaluateModule, evaluateSource, format, toJson } from './index';
import { JobSpec } from '../proto/index';

const here = fileURLToPath(new URL('.', import.meta.url));
const testdata = join(here, 'testdata');
const examples = join(here, '..', 'examples');
const update = process.env.BCL_UPDATE_GOLDEN === '1';

function jobsJson(jobs: JobSpec[]): string {
  return JSON.stringify(jobs.map((j) => JobSpec.toJSON(j)), null, 2) + '\n';
}

const goldens = readdirSync(testdata).filter((f) => f.endsWith('.bcl')).sort();

test('every language feature has a golden', () => {
  const features = ['values', 'strings', 'arithmetic', 'functions', 'conditionals', 'comprehensions', 'imports', 'templates', 'units', 'priorities', 'constraints', 'overrides', 'multi_job', 'job_fields', 'builtins'];
  assert.deepEqual(features.filter((f) => !goldens.includes(`${f}.bcl`)), []);
});

for (const name of goldens) {
  test(`golden ${name}`, () => {
    const path = join(testdata, name);
    const got = jobsJson(evaluateFile(path).jobs);
    const goldenPath = path.replace(/\.bcl$/, '.json');
    if (update) writeFileSync(goldenPath, got);
    assert.equal(got, readFileSync(goldenPath, 'utf8'));
  });

  test(`fmt keeps ${name} meaning and is idempotent`, () => {
    const path = join(testdata, name);
    const text = readFileSync(path, 'utf8');
    const once = format(text, path);
    assert.equal(format(once, path), once);
    assert.equal(jobsJson(evaluateSource(once, path).jobs), jobsJson(evaluateSource(text, path).jobs));
  });
}

const exampleFiles = ['web.bcl', 'batch.bcl', 'lambdas.bcl', 'lib/templates.bcl'];

for (const name of exampleFiles) {
  test(`example ${name} evaluates and is formatted`, () => {
    const path = join(examples, name);
    const text = readFileSync(path, 'utf8');
    assert.equal(format(text, path), text, `${name} is not in canonical form: run borg fmt --write ${name}`);
    const names = evaluateModule(text, path).names;
    assert.ok(names.size > 0);
    for (const [k, b] of names) assert.notEqual(toJson(b.value, { left: 1e5 }), undefined, k);
  });
}

test('examples run real, small processes a local Borglet can hold', () => {
  const all = ['web.bcl', 'batch.bcl', 'lambdas.bcl'].flatMap((f) => evaluateFile(join(examples, f)).jobs);
  assert.deepEqual(all.map((j) => j.name), ['web', 'extract', 'transform', 'load', 'shards']);
  for (const j of all) {
    assert.ok(j.task, j.name);
    assert.ok(['/bin/sh', '/usr/bin/python3'].includes(j.task.command), j.name);
    const r = j.task.requirements;
    assert.ok(r && r.cpuMillis <= 500 && r.ramBytes <= 2 * 1024 ** 3, `${j.name} fits a 500m / 2GiB Borglet`);
    assert.equal(j.user, 'ubar');
  }
  const web = all[0] as JobSpec;
  assert.equal(web.priority >= 120, true, 'the web service is prod');
  assert.deepEqual(web.task?.args, ['-m', 'http.server', '${port}', '--bind', '127.0.0.1'], 'the Borglet fills in ${port}');
  assert.equal(web.overrides.length, 1);
  assert.equal(web.overrides[0]?.spec?.env.MODE, 'canary');
  assert.equal(web.overrides[0]?.spec?.env.PYTHONUNBUFFERED, '1', 'overrides are complete task specs');
});
