// compileEntry builds a TypeScript entry point into one JavaScript file with esbuild, for the processes whose speed
// is measured (the scheduler daemon and its benchmark): the same code runs about 10% faster compiled than under
// tsx's loader (scheduler/README.md). Each file keeps its own `import.meta.url`, so paths resolved from it (data
// files, other scripts) stay where they were; packages stay external and are resolved from the project's
// node_modules, which is why the bundle is written inside the project (.borg/build). The bundle's name carries a
// hash of its contents, so starting the same code again reuses it, and concurrent builds of it write the same file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** BUILD_DIR: where bundles go by default, inside the project (its node_modules resolve their packages). */
export const BUILD_DIR = fileURLToPath(new URL('../../.borg/build', import.meta.url));

/** TSX_NODE_FLAGS: how a TypeScript entry is run as it is, under tsx's loader. */
export const TSX_NODE_FLAGS = ['--import', 'tsx', '--no-deprecation'];

/**
 * COMPILED_NODE_FLAGS: how a compiled entry is run (its stack traces point into the TypeScript sources). Only the
 * scheduler runs compiled (the daemon and its benchmark), so the flags are tuned for it: V8 inlines up to 6,000 bytes
 * of bytecode into an optimized function instead of 920, since a scheduling decision is a chain of small functions
 * (filters, scorers, snapshot updates). Measured over 18 alternated pairs of benchmark runs: online pass p50 -5.5%
 * (lower in 16 of 18 pairs), bulk pass -8.8% (17 of 18), the same plans; startup warm-up 0.5 -> 0.95 s CPU, peak RSS
 * ~20 MiB more (scheduler/README.md).
 */
export const COMPILED_NODE_FLAGS = ['--enable-source-maps', '--no-deprecation', '--max-inlined-bytecode-size-cumulative=6000'];

const keepImportMetaUrl: Plugin = {
  name: 'keep-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
      loader: 'ts',
    }));
  },
};

/** compileEntry bundles `entry` (a .ts file) into `outDir` and returns the bundle's path. */
export async function compileEntry(entry: string, outDir = BUILD_DIR): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    write: false,
    plugins: [keepImportMetaUrl],
    logLevel: 'silent',
  });
  const out = r.outputFiles[0];
  if (out === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  const hash = createHash('sha256').update(out.contents).digest('hex').slice(0, 16);
  const name = `${basename(dirname(entry))}-${basename(entry, '.ts')}`;
  const file = join(outDir, `${name}.${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(outDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, out.contents);
    renameSync(tmp, file);
    forgetOldBuilds(outDir, name, file);
  }
  return file;
}

/** OLD_BUILD_MS: a bundle of an entry not rebuilt for this long is removed when the entry is next rebuilt. */
const OLD_BUILD_MS = 24 * 3600 * 1000;

/**
 * forgetOldBuilds removes the entry's earlier bundles (each code change leaves one) once they are a day old: old
 * enough that no process is still between building one and starting from it.
 */
function forgetOldBuilds(outDir: string, name: string, keep: string): void {
  const now = Date.now();
  for (const f of readdirSync(outDir)) {
    const path = join(outDir, f);
    if (path === keep || !f.startsWith(`${name}.`) || !f.endsWith('.mjs')) continue;
    // Another process may be removing it too.
    const st = statSync(path, { throwIfNoEntry: false });
    if (st !== undefined && now - st.mtimeMs > OLD_BUILD_MS) rmSync(path, { force: true });
  }
}
