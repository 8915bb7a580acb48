// `borg eval` and `borg fmt` through the real binary (node cli/borg.mjs): output, exit codes for bad input
// (missing file, syntax error, unknown option: 2), and fmt's --check / --write on real files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'borg-bcl-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function borg(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['cli/borg.mjs', ...args], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('borg eval prints the JobSpecs of a file as JSON', () => {
  const r = borg(['eval', 'examples/web.bcl']);
  assert.equal(r.code, 0, r.stderr);
  const jobs = JSON.parse(r.stdout) as { name: string; cell: string; taskCount: number; task: { args: string[] } }[];
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]?.name, 'web');
  assert.equal(jobs[0]?.cell, 'local');
  assert.equal(jobs[0]?.taskCount, 2);
  assert.deepEqual(jobs[0]?.task.args, ['-m', 'http.server', '${port}', '--bind', '127.0.0.1']);
});

test('borg eval takes several files, --cell, and standard input', () => {
  const r = borg(['eval', '--compact', '--cell', 'west', 'examples/batch.bcl', '-'], 'job solo = { user = "ann", priority = batch, command = "/bin/true", requirements = { cpu = 10m, ram = 8MiB } }\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1, 'compact is one line');
  const jobs = JSON.parse(r.stdout) as { name: string; cell: string }[];
  assert.deepEqual(jobs.map((j) => `${j.name}@${j.cell}`), ['extract@west', 'transform@west', 'load@west', 'solo@west']);
});

test('borg eval --cell takes a cell config file, as the other commands do', () => {
  const f = join(dir, 'elsewhere.yaml');
  writeFileSync(f, readFileSync(join(root, 'cells', 'local.yaml'), 'utf8').replace(/^cell: local$/m, 'cell: elsewhere'));
  const r = borg(['eval', '--compact', '--cell', f, 'examples/lambdas.bcl']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { cell: string }[]).map((j) => j.cell), ['elsewhere']);
});

test('borg eval of a missing file exits 2 and names the file', () => {
  const r = borg(['eval', 'no/such/file.bcl']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim(), 'borg eval: no/such/file.bcl: cannot read: no such file');
});

test('borg eval of a syntax error exits 2 with file:line:col, the line and a caret', () => {
  const f = join(dir, 'bad.bcl');
  writeFileSync(f, 'let x = 1\njob a = {\n  replicas = }\n');
  const r = borg(['eval', f]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `borg eval: ${f}:3:14: expected an expression, found "}"\n 3 |   replicas = }\n   |              ^\n`);
});

test('borg eval of a type error and of an unknown option exit 2', () => {
  const f = join(dir, 'type.bcl');
  writeFileSync(f, 'let x = "a" + 1\n');
  const r = borg(['eval', f]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /type\.bcl:1:13: cannot add string and number/);
  const o = borg(['eval', '--frobnicate', f]);
  assert.equal(o.code, 2);
  assert.match(o.stderr, /--frobnicate: unknown option/);
  assert.equal(borg(['eval']).code, 2);
  const d = borg(['eval', 'examples/batch.bcl', 'examples/batch.bcl']);
  assert.equal(d.code, 2);
  assert.equal(d.stderr.trim(), 'borg eval: examples/batch.bcl: job local/ubar/extract is also declared in examples/batch.bcl');
});

test('borg fmt prints, checks and rewrites', () => {
  const f = join(dir, 'messy.bcl');
  const messy = 'let  x =1+2 # three\njob a = {user="ann",priority=batch}\n';
  writeFileSync(f, messy);
  const want = 'let x = 1 + 2 # three\njob a = { user = "ann", priority = batch }\n';
  const p = borg(['fmt', f]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, want);
  const c = borg(['fmt', '--check', f, 'examples/web.bcl']);
  assert.equal(c.code, 2);
  assert.equal(c.stdout, `${f}\n`, 'only the unformatted file is listed');
  const w = borg(['fmt', '--write', f]);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(readFileSync(f, 'utf8'), want);
  assert.equal(borg(['fmt', '--check', f]).code, 0);
});

test('borg fmt of a syntax error or missing file exits 2 and leaves the file alone', () => {
  const f = join(dir, 'broken.bcl');
  writeFileSync(f, 'let x = (1\n');
  const r = borg(['fmt', '--write', f]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.bcl:2:1: expected "\)" to close "\(", found end of file/);
  assert.equal(readFileSync(f, 'utf8'), 'let x = (1\n');
  assert.equal(borg(['fmt', 'missing.bcl']).code, 2);
});

test('borg eval --help and borg fmt --help show an example', () => {
  for (const c of ['eval', 'fmt']) {
    const r = borg([c, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /example: borg /);
  }
});
