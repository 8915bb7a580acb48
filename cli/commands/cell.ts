// `borg cell`: the cell's replicas (which one is the elected master, which answer, the log index each has
// applied and how far each lags) and its totals. Every replica is asked directly, so an unreachable one shows
// as such rather than hiding behind the one that answered.
import { EXIT } from '../registry';
import { BorgError, fromGrpcError } from '../../model/errors';
import type { CellStatusResponse, ReplicaStatus } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, defineCommand, expectPositionals, json, out, table, withCell } from '../lib/index';

const flags = { ...CELL_FLAGS, ...HELP_FLAG } as const;
const PER_REPLICA_TIMEOUT_MS = 3_000;

export interface ReplicaRow {
  id: number | undefined;
  address: string;
  role: 'leader' | 'follower' | 'unreachable';
  logIndex: number | undefined;
  appliedIndex: number | undefined;
  lag: number | undefined;
  error: string;
}

/**
 * replicaRows merges what each replica said about itself (its applied index) with what the leader's log knows
 * about all of them (log index, lag). Lag is against the highest applied index anyone reported.
 */
export function replicaRows(addresses: readonly string[], answers: ReadonlyMap<string, CellStatusResponse | Error>): ReplicaRow[] {
  const leaderView = [...answers.values()].find((a): a is CellStatusResponse => !(a instanceof Error) && a.read?.leader === true);
  const fromLog = new Map<string, ReplicaStatus>((leaderView?.replicas ?? []).map((r) => [r.address, r]));
  const all = [...new Set([...addresses, ...fromLog.keys()])];
  const rows = all.map((address): ReplicaRow => {
    const a = answers.get(address);
    const st = fromLog.get(address);
    if (a === undefined || a instanceof Error) {
      return { id: st?.id, address, role: 'unreachable', logIndex: st?.logIndex, appliedIndex: st?.appliedIndex, lag: undefined, error: a instanceof Error ? a.message : 'not asked' };
    }
    return { id: a.read?.replica ?? st?.id, address, role: a.read?.leader ? 'leader' : 'follower', logIndex: st?.logIndex, appliedIndex: a.read?.logIndex ?? st?.appliedIndex, lag: undefined, error: '' };
  });
  const top = Math.max(0, ...rows.map((r) => r.appliedIndex ?? 0));
  for (const r of rows) if (r.role !== 'unreachable' && r.appliedIndex !== undefined) r.lag = top - r.appliedIndex;
  return rows.sort((x, y) => (x.id ?? 99) - (y.id ?? 99) || x.address.localeCompare(y.address));
}

defineCommand(
  {
    name: 'cell',
    summary: 'the cell: replicas, elected master, log indexes and lag, totals',
    usage: 'cell [options]',
    description: `Asks every replica of the cell for its status: which replica is the elected master (and its ballot),
which replicas answer, the log index each has applied and how far it lags the most advanced one, and the cell's
machine, job and task totals.`,
    examples: ['borg cell', 'borg cell --master 127.0.0.1:7102 --json'],
    flags,
    async run({ flags: f, positionals }) {
      expectPositionals(positionals, [], 0, 'borg cell');
      return withCell(f, async ({ client }) => {
        const addresses = client.replicaAddresses;
        const answers = new Map<string, CellStatusResponse | Error>();
        await Promise.all(
          addresses.map(async (a) => {
            try {
              answers.set(a, await client.once(a, RPCS.cellStatus, {}, Math.min(PER_REPLICA_TIMEOUT_MS, client.timeoutMs)));
            } catch (e: unknown) {
              answers.set(a, fromGrpcError(e));
            }
          }),
        );
        const good = [...answers.values()].filter((a): a is CellStatusResponse => !(a instanceof Error));
        if (good.length === 0) {
          throw new BorgError('unavailable', `no replica of cell ${client.cell} answered:\n${[...answers].map(([a, e]) => `  ${a}: ${e instanceof Error ? e.message : ''}`).join('\n')}`);
        }
        const s = good.find((a) => a.read?.leader) ?? (good[0] as CellStatusResponse);
        const rows = replicaRows(addresses, answers);
        if (f.json) {
          out(json({
            cell: s.cell,
            leaderReplica: s.leaderReplica,
            leaderAddress: s.leaderAddress,
            ballot: s.ballot,
            replicas: rows,
            machines: { up: s.machinesUp, draining: s.machinesDraining, down: s.machinesDown },
            jobs: s.jobs,
            tasks: { running: s.tasksRunning, pending: s.tasksPending },
          }));
          return EXIT.ok;
        }
        const leader = s.leaderAddress === '' ? 'no elected master known' : `elected master: replica ${s.leaderReplica} at ${s.leaderAddress}${s.ballot ? ` (ballot ${s.ballot.round}.${s.ballot.replica})` : ''}`;
        out(`cell ${s.cell}: ${leader}`);
        out(`machines: ${s.machinesUp} up, ${s.machinesDraining} draining, ${s.machinesDown} down; jobs: ${s.jobs}; tasks: ${s.tasksRunning} running, ${s.tasksPending} pending`);
        out('');
        out(table(rows, [
          { header: 'REPLICA', value: (r) => r.id },
          { header: 'ADDRESS', value: (r) => r.address },
          { header: 'ROLE', value: (r) => r.role },
          { header: 'LOG INDEX', value: (r) => r.logIndex, right: true },
          { header: 'APPLIED', value: (r) => r.appliedIndex, right: true },
          { header: 'LAG', value: (r) => r.lag, right: true },
          { header: 'ERROR', value: (r) => r.error },
        ]));
        return EXIT.ok;
      });
    },
  },
  true,
);
