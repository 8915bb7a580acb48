// `borg logs TASK`: the tail of a task's stdout (or stderr), fetched by the master from the task's Borglet.
import { EXIT } from '../registry';
import { InvalidArgument } from '../../model/errors';
import { BORGLET_ENDED_TASK_LOGS_MAX, LOG_TAIL_MAX_BYTES } from '../../cells/limits';
import { TaskLogsRequest_Stream } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, defineCommand, expectPositionals, json, note, parseTaskRef, withCell } from '../lib/index';

const DEFAULT_TAIL_BYTES = 64 * 1024;

const flags = {
  ...CELL_FLAGS,
  stderr: { kind: 'boolean', help: 'show standard error instead of standard output' },
  tail: { kind: 'int', value: 'N', help: 'only the last N lines' },
  bytes: { kind: 'int', value: 'B', help: `fetch the last B bytes (default ${DEFAULT_TAIL_BYTES}, at most ${LOG_TAIL_MAX_BYTES})` },
  ...HELP_FLAG,
} as const;

/** lastLines keeps the last `n` lines of `text` (a final newline does not count as an extra empty line). */
export function lastLines(text: string, n: number): string {
  if (n === 0) return '';
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines = body.split('\n');
  const kept = lines.slice(-n).join('\n');
  return text.endsWith('\n') ? `${kept}\n` : kept;
}

defineCommand(
  {
    name: 'logs',
    summary: "show the tail of a task's stdout or stderr",
    usage: 'logs TASK [--stderr] [--tail N] [options]',
    description: `Prints the end of TASK's standard output (or --stderr), as kept by the Borglet of the machine it runs on
(bounded per task). For a task that finished, was killed or went back to pending, the machine it last ran on keeps
the last MiB of each stream of its last ${BORGLET_ENDED_TASK_LOGS_MAX} such tasks. TASK is job/index, user/job/index,
cell/user/job/index or index.job.user.cell.borg.`,
    examples: ['borg logs web/0', 'borg logs web/1 --stderr --tail 20'],
    flags,
    async run({ flags: f, positionals }) {
      const [arg] = expectPositionals(positionals, ['TASK'], 0, 'borg logs TASK') as [string];
      if (f.tail !== undefined && f.tail < 0) throw new InvalidArgument('--tail', 'must be 0 or more');
      const tailBytes = f.bytes ?? DEFAULT_TAIL_BYTES;
      if (tailBytes < 1 || tailBytes > LOG_TAIL_MAX_BYTES) throw new InvalidArgument('--bytes', `must be in [1, ${LOG_TAIL_MAX_BYTES}], got ${tailBytes}`);
      return withCell(f, async ({ client, config }) => {
        const taskId = parseTaskRef(arg, client.user, config.name);
        const r = await client.read(RPCS.taskLogs, { taskId, stream: f.stderr ? TaskLogsRequest_Stream.STDERR : TaskLogsRequest_Stream.STDOUT, tailBytes });
        let text = Buffer.from(r.data).toString('utf8');
        if (f.tail !== undefined) text = lastLines(text, f.tail);
        if (f.json) {
          process.stdout.write(`${json({ task: taskId, stream: f.stderr ? 'stderr' : 'stdout', truncated: r.truncated, data: text })}\n`);
        } else {
          process.stdout.write(text);
          if (r.truncated && f.tail === undefined) note(`(only the last ${tailBytes} bytes; more with --bytes)`);
        }
        return EXIT.ok;
      });
    },
  },
  true,
);
