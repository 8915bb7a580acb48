// compileEntry: one JavaScript file that runs like its TypeScript sources, each keeping its import.meta.url;
// the same code compiles to the same file; a broken source fails the build with its name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMPILED_NODE_FLAGS, compileEntry } from './compiled';

test('a compiled entry runs like its sources, each file keeping its own import.meta.url', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'borg-compiled-'));
  try {
    const a = join(dir, 'src', 'main.ts');
    const b = join(dir, 'src', 'lib', 'where.ts');
    mkdirSync(join(dir, 'src', 'lib'), { recursive: true });
    writeFileSync(b, 'export const where: string = import.meta.url;\nexport const twice = (n: number): number => 2 * n;\n');
    writeFileSync(a, "import { twice, where } from './lib/where';\nconsole.log(JSON.stringify([import.meta.url, where, twice(21), process.argv.slice(2)]));\n");
    const out = join(dir, 'out');
    const bundle = await compileEntry(a, out);
    const printed = JSON.parse(execFileSync(process.execPath, [...COMPILED_NODE_FLAGS, bundle, 'x', 'y'], { encoding: 'utf8' })) as unknown;
    assert.deepEqual(printed, [pathToFileURL(a).href, pathToFileURL(b).href, 42, ['x', 'y']]);
    assert.equal(await compileEntry(a, out), bundle, 'the same code compiles to the same file');
    assert.deepEqual(readdirSync(out), [bundle.slice(out.length + 1)]);
    // A change leaves the earlier bundle until it is a day old.
    writeFileSync(b, 'export const where: string = import.meta.url;\nexport const twice = (n: number): number => n + n;\n');
    const changed = await compileEntry(a, out);
    assert.notEqual(changed, bundle);
    assert.deepEqual(readdirSync(out).sort(), [bundle, changed].map((f) => f.slice(out.length + 1)).sort());
    const dayAgo = (Date.now() - 25 * 3600 * 1000) / 1000;
    utimesSync(bundle, dayAgo, dayAgo);
    utimesSync(changed, dayAgo, dayAgo);
    writeFileSync(b, 'export const where: string = import.meta.url;\nexport const twice = (n: number): number => n * 2;\n');
    const third = await compileEntry(a, out);
    assert.deepEqual(readdirSync(out), [third.slice(out.length + 1)], 'the day-old bundles are gone');
    writeFileSync(b, 'export const where = ;\n');
    await assert.rejects(compileEntry(a, out), /where\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
