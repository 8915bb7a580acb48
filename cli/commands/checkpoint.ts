// `borg checkpoint save FILE` asks the master for a checkpoint of the cell state (admin) and writes it durably;
// `borg checkpoint inspect FILE` decodes one offline (borgmaster/state restore, which refuses corrupt files)
// and prints what it holds. Checkpoints feed the Fauxmaster and disaster recovery (B15 §3.1).
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { EXIT } from '../registry';
import { BorgError, InvalidArgument } from '../../model/errors';
import { restore } from '../../borgmaster/state/index';
import { MachineState, TaskState } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, bytes, defineCommand, isoTime, json, out, table, withCell } from '../lib/index';

const flags = { ...CELL_FLAGS, ...HELP_FLAG } as const;
/** MAX_CHECKPOINT_FILE_BYTES: inspect refuses larger files rather than read them whole into memory. */
const MAX_CHECKPOINT_FILE_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** writeDurably writes to FILE.tmp, fsyncs, then renames over FILE: a crash leaves the old file or the new one. */
async function writeDurably(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e: unknown) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

export interface CheckpointSummary {
  cell: string;
  appliedIndex: number;
  timeMs: number;
  bytes: number;
  machines: Record<string, number>;
  jobs: number;
  tasks: Record<string, number>;
  quotas: number;
  events: number;
  requests: number;
}

/** summarize decodes a checkpoint and counts what it holds. */
export function summarize(data: Uint8Array): CheckpointSummary {
  const s = restore(data);
  const machines: Record<string, number> = { total: s.machines.size };
  for (const m of s.machines.values()) {
    const k = MachineState[m.state] ?? String(m.state);
    machines[k] = (machines[k] ?? 0) + 1;
  }
  const tasks: Record<string, number> = { total: 0 };
  for (const j of s.jobs.values()) {
    for (const t of j.tasks) {
      const k = TaskState[t.state] ?? String(t.state);
      tasks[k] = (tasks[k] ?? 0) + 1;
      tasks.total = (tasks.total ?? 0) + 1;
    }
  }
  return { cell: s.cell, appliedIndex: s.appliedIndex, timeMs: s.timeMs, bytes: data.length, machines, jobs: s.jobs.size, tasks, quotas: s.quotas.size, events: s.events.size, requests: s.requests.size };
}

function counts(c: Record<string, number>): string {
  return Object.entries(c)
    .filter(([k]) => k !== 'total')
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

defineCommand(
  {
    name: 'checkpoint',
    summary: 'save a checkpoint of the cell state (admin), or inspect one',
    usage: 'checkpoint save FILE | checkpoint inspect FILE [options]',
    description: `save: asks the master for a checkpoint of the whole cell state (machines, jobs, tasks, quotas, recent
events and request ids) at one log index and writes it to FILE durably (admin only).
inspect: decodes FILE offline, checking its integrity, and prints what it holds; needs no cell.`,
    examples: ['borg checkpoint save /tmp/local.ckpt --user admin', 'borg checkpoint inspect /tmp/local.ckpt --json'],
    flags,
    async run({ flags: f, positionals }) {
      const [verb, file, extra] = positionals;
      if (verb !== 'save' && verb !== 'inspect') throw new InvalidArgument(verb === undefined ? 'save|inspect' : JSON.stringify(verb), 'say save or inspect (usage: borg checkpoint save|inspect FILE)');
      if (file === undefined) throw new InvalidArgument('FILE', `is required (usage: borg checkpoint ${verb} FILE)`);
      if (extra !== undefined) throw new InvalidArgument(JSON.stringify(extra), 'unexpected argument');
      if (verb === 'inspect') {
        let data: Buffer;
        try {
          // Refuse an oversized file before reading it whole into memory.
          if ((await stat(file)).size > MAX_CHECKPOINT_FILE_BYTES) throw new InvalidArgument(file, 'is larger than any checkpoint');
          data = await readFile(file);
        } catch (e: unknown) {
          if (e instanceof BorgError) throw e;
          throw new InvalidArgument(file, `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e)}`);
        }
        let sum: CheckpointSummary;
        try {
          sum = summarize(data);
        } catch (e: unknown) {
          if (e instanceof BorgError) throw new InvalidArgument(file, e.message);
          throw e;
        }
        if (f.json) {
          out(json(sum));
          return EXIT.ok;
        }
        out(table(
          [
            ['cell', sum.cell],
            ['log index', String(sum.appliedIndex)],
            ['cell time', isoTime(sum.timeMs)],
            ['size', bytes(sum.bytes)],
            ['machines', `${sum.machines.total ?? 0}${sum.machines.total ? ` (${counts(sum.machines)})` : ''}`],
            ['jobs', String(sum.jobs)],
            ['tasks', `${sum.tasks.total ?? 0}${sum.tasks.total ? ` (${counts(sum.tasks)})` : ''}`],
            ['quotas', String(sum.quotas)],
            ['events', String(sum.events)],
            ['request ids', String(sum.requests)],
          ] as const,
          [
            { header: 'CHECKPOINT', value: (r) => r[0] },
            { header: file, value: (r) => r[1] },
          ],
        ));
        return EXIT.ok;
      }
      return withCell(f, async ({ client }) => {
        // SaveCheckpoint changes nothing, so it is a read; every replica may answer (the master checks the role).
        const r = await client.read(RPCS.saveCheckpoint, {});
        await writeDurably(file, r.checkpoint);
        if (f.json) out(json({ file, logIndex: r.logIndex, bytes: r.checkpoint.length }));
        else out(`wrote ${file}: ${bytes(r.checkpoint.length)}, the cell at log index ${r.logIndex}`);
        return EXIT.ok;
      });
    },
  },
  true,
);
