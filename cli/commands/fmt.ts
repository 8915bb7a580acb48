// `borg fmt FILE...`: prints BCL files in canonical form, or checks (--check) or rewrites (--write) them.
// The output parses to the same program and formatting it again changes nothing.
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { register, EXIT } from '../registry';
import { BclError, describeIoError, format, readSourceFile } from '../../bcl/index';
import { InvalidArgument } from '../../model/errors';

const HELP = `usage: borg fmt FILE... [--check | --write]

Formats BCL files: 2-space indentation, one field per line in multi-line records, single spaces around
operators; comments, blank lines between items, and one-line vs multi-line layout are kept.

  (default)  print the formatted file (one FILE, or "-" for standard input)
  --check    print the names of files that are not formatted; exit 2 if there are any
  --write    rewrite files that are not formatted, and print their names

example: borg fmt --check examples/*.bcl examples/lib/*.bcl`;

register('fmt', {
  summary: 'format BCL files (print, --check or --write)',
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      console.log(HELP);
      return EXIT.ok;
    }
    let mode: 'print' | 'check' | 'write' = 'print';
    const files: string[] = [];
    for (const a of args) {
      if (a === '--check' || a === '--write') {
        const m = a === '--check' ? 'check' : 'write';
        if (mode !== 'print' && mode !== m) throw new InvalidArgument(a, 'use either --check or --write, not both');
        mode = m;
      } else if (a.startsWith('-') && a !== '-') {
        throw new InvalidArgument(a, 'unknown option; see borg fmt --help');
      } else {
        files.push(a);
      }
    }
    if (files.length === 0) throw new InvalidArgument('FILE', 'give at least one .bcl file (see borg fmt --help)');
    if (mode === 'print' && files.length > 1) throw new InvalidArgument('FILE', 'printing takes one file; use --check or --write for several');
    if (mode === 'write' && files.includes('-')) throw new InvalidArgument('-', 'cannot --write standard input');
    let unformatted = 0;
    for (const f of files) {
      const text = read(f);
      const out = format(text, f === '-' ? '<stdin>' : f);
      if (mode === 'print') {
        process.stdout.write(out);
      } else if (out !== text) {
        unformatted++;
        if (mode === 'write') {
          // Write beside and rename, so an interrupted write never leaves half a file; keep the file's mode.
          const tmp = `${f}.fmt-${process.pid}.tmp`;
          writeFileSync(tmp, out, { mode: statSync(f).mode & 0o7777 });
          renameSync(tmp, f);
        }
        console.log(f);
      }
    }
    return mode === 'check' && unformatted > 0 ? EXIT.badInput : EXIT.ok;
  },
});

function read(f: string): string {
  if (f === '-') return readFileSync(0, 'utf8');
  try {
    return readSourceFile(f);
  } catch (e: unknown) {
    throw new BclError({ file: f, text: '' }, undefined, `cannot read: ${describeIoError(e)}`);
  }
}
