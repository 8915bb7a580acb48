// `borg eval FILE...`: evaluates BCL files offline and prints their jobs as JobSpec JSON, exactly what
// `borg submit` would send. Bad input (a missing file, a syntax or type error) exits 2 with file:line:col.
import { readFileSync } from 'node:fs';
import { register, EXIT } from '../registry';
import { evaluateFile, evaluateSource } from '../../bcl/index';
import { InvalidArgument } from '../../model/errors';
import { NAME_PATTERN, formatJobId, validateName } from '../../model/ids';
import { loadCellConfig } from '../../cells/config';
import { JobSpec } from '../../proto/index';
import { BCL_MAX_SOURCE_BYTES } from '../../cells/limits';

const HELP = `usage: borg eval FILE... [--cell CELL] [--user NAME] [--compact] [--json]

Evaluates BCL files (and their imports) and prints every job as JobSpec JSON (an array).
FILE "-" reads standard input.

  --cell CELL   cell for jobs that do not set one: a cell name, or a cell config file as for the other
                commands (cells/local.yaml gives its cell's name); default "local"
  --user NAME   user for jobs that do not set one (default: user is required)
  --compact     one line of JSON instead of indented
  --json        accepted for symmetry with other commands (the output is always JSON)

example: borg eval examples/web.bcl --cell local`;

register('eval', {
  summary: 'evaluate BCL files and print their jobs as JobSpec JSON',
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      console.log(HELP);
      return EXIT.ok;
    }
    const files: string[] = [];
    let cell: string | undefined;
    let user: string | undefined;
    let compact = false;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (a === '--cell' || a === '--user') {
        const v = args[++i];
        if (v === undefined || v.startsWith('--')) throw new InvalidArgument(a, 'needs a value');
        if (a === '--cell') cell = cellName(v);
        else user = validateName(v, '--user');
      } else if (a === '--compact') {
        compact = true;
      } else if (a === '--json') {
        // The output is always JSON; accepted so scripts can pass --json to every borg command alike.
      } else if (a.startsWith('-') && a !== '-') {
        throw new InvalidArgument(a, 'unknown option; see borg eval --help');
      } else {
        files.push(a);
      }
    }
    if (files.length === 0) throw new InvalidArgument('FILE', 'give at least one .bcl file (see borg eval --help)');
    const options = { cell, user };
    const jobs: unknown[] = [];
    const seen = new Map<string, string>();
    for (const f of files) {
      const r = f === '-' ? evaluateSource(readStdin(), '<stdin>', options) : evaluateFile(f, options);
      for (const j of r.jobs) {
        // Within a file BCL refuses a second job of the same name; across files, so does this.
        const id = formatJobId({ cell: j.cell, user: j.user, job: j.name });
        const first = seen.get(id);
        if (first !== undefined) throw new InvalidArgument(f, `job ${id} is also declared in ${first}`);
        seen.set(id, f);
        jobs.push(JobSpec.toJSON(j));
      }
    }
    process.stdout.write(JSON.stringify(jobs, null, compact ? undefined : 2) + '\n');
    return EXIT.ok;
  },
});

/** cellName takes a cell name as is, and anything else (cells/local.yaml) as the cell config file to name it. */
function cellName(v: string): string {
  if (NAME_PATTERN.test(v)) return v;
  return loadCellConfig(v).name;
}

function readStdin(): string {
  const text = readFileSync(0, 'utf8');
  if (text.length > BCL_MAX_SOURCE_BYTES) throw new InvalidArgument('<stdin>', `is ${text.length} bytes; the limit is ${BCL_MAX_SOURCE_BYTES}`);
  return text;
}
