// `borg quota [USER]` shows quotas (per user and priority band: limit and what the user's jobs use);
// `borg quota set USER BAND cpu=.. ram=.. [disk=..] [ports=..]` changes one (admin only; B15 §2.5 admission).
import { EXIT } from '../registry';
import { InvalidArgument } from '../../model/errors';
import { validateName } from '../../model/ids';
import { NAMED_PRIORITIES, bandOf, bandName, parsePriority } from '../../model/priority';
import { parseBytes, parseCpuMillis } from '../../model/units';
import { PriorityBand, Quota, type Resources } from '../../proto/index';
import { CELL_FLAGS, HELP_FLAG, RPCS, bytes, cpu, defineCommand, jsonLines, note, out, quotaRequestId, table, usedOf, withCell, json } from '../lib/index';

const flags = { ...CELL_FLAGS, ...HELP_FLAG } as const;

/** parseBand reads a band name (free, batch, mid, prod, monitoring, or any named priority) or a priority number. */
export function parseBand(s: string): PriorityBand {
  if (s === 'best-effort') return PriorityBand.BEST_EFFORT;
  if (/^[0-9]+$/.test(s)) return bandOf(parsePriority(s, 'BAND'));
  if (NAMED_PRIORITIES[s] === undefined) throw new InvalidArgument('BAND', `${JSON.stringify(s)} is not a band (free, batch, mid, prod, monitoring) or a priority number`);
  return bandOf(NAMED_PRIORITIES[s] as number);
}

/** parseLimit reads `cpu=2 ram=8GiB disk=40GiB ports=100` over `base` (dimensions not given keep their value). */
export function parseLimit(args: readonly string[], base: Resources): Resources {
  if (args.length === 0) throw new InvalidArgument('LIMIT', 'give at least one of cpu=.. ram=.. disk=.. ports=..');
  const r = { ...base };
  const seen = new Set<string>();
  for (const a of args) {
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    const value = eq < 0 ? '' : a.slice(eq + 1);
    if (eq < 0 || value === '') throw new InvalidArgument(a, 'is not key=value (cpu=2, ram=8GiB, disk=40GiB, ports=100)');
    if (seen.has(key)) throw new InvalidArgument(key, 'is given twice');
    seen.add(key);
    switch (key) {
      case 'cpu':
        r.cpuMillis = parseCpuMillis(value, 'cpu');
        break;
      case 'ram':
        r.ramBytes = parseBytes(value, 'ram');
        break;
      case 'disk':
        r.diskBytes = parseBytes(value, 'disk');
        break;
      case 'ports':
        if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgument('ports', `${JSON.stringify(value)} is not a count in [0, 65535]`);
        r.ports = Number(value);
        break;
      default:
        throw new InvalidArgument(key, 'is not a resource (cpu, ram, disk, ports)');
    }
  }
  return r;
}

const ZERO: Resources = { cpuMillis: 0, ramBytes: 0, diskBytes: 0, ports: 0 };

defineCommand(
  {
    name: 'quota',
    summary: 'show quotas, or set one (admin): per user and priority band',
    usage: 'quota [USER] | quota set USER BAND cpu=.. ram=.. [disk=..] [ports=..] [options]',
    description: `Without "set": every quota of the cell (or USER's), with what the user's jobs use of it.
With "set": changes USER's quota in BAND (free, batch, mid, prod, monitoring, or a priority number); dimensions
not given keep their current value. Setting quota needs the admin role. Jobs are admitted only within quota;
prod quota never exceeds the cell's capacity.`,
    examples: ['borg quota', 'borg quota ubar --json', 'borg quota set ubar batch cpu=4 ram=16GiB --user admin'],
    flags,
    async run({ flags: f, positionals }) {
      if (positionals[0] === 'set') {
        const [, userArg, bandArg, ...limitArgs] = positionals;
        if (userArg === undefined) throw new InvalidArgument('USER', 'is required (usage: borg quota set USER BAND cpu=.. ram=..)');
        if (bandArg === undefined) throw new InvalidArgument('BAND', 'is required (usage: borg quota set USER BAND cpu=.. ram=..)');
        const user = validateName(userArg, 'USER');
        const band = parseBand(bandArg);
        parseLimit(limitArgs, ZERO); // bad input is reported before connecting
        return withCell(f, async ({ client }) => {
          const current = await client.read(RPCS.listQuotas, { user });
          const existing = current.quotas.find((q) => q.band === band);
          const limit = parseLimit(limitArgs, existing?.limit ?? ZERO);
          const res = await client.write(RPCS.setQuota, {
            requestId: quotaRequestId(user, band, limit, current.read?.logIndex ?? 0),
            quota: { user, band, cell: '', limit, used: undefined },
          });
          if (f.json) out(json({ user, band: bandName(band), limit, logIndex: res.logIndex }));
          else out(`quota of ${user} in ${bandName(band)}: cpu=${cpu(limit.cpuMillis)} ram=${bytes(limit.ramBytes)} disk=${bytes(limit.diskBytes)} ports=${limit.ports} (log index ${res.logIndex})`);
          return EXIT.ok;
        });
      }
      if (positionals.length > 1) throw new InvalidArgument(JSON.stringify(positionals[1]), 'unexpected argument (usage: borg quota [USER])');
      const user = positionals[0] === undefined ? '' : validateName(positionals[0], 'USER');
      return withCell(f, async ({ client }) => {
        const r = await client.read(RPCS.listQuotas, { user });
        const quotas = [...r.quotas].sort((a, b) => a.user.localeCompare(b.user) || a.band - b.band);
        if (f.json) {
          out(jsonLines(quotas.map((q) => ({ ...(Quota.toJSON(q) as object), band: bandName(q.band) }))));
          return EXIT.ok;
        }
        if (quotas.length === 0) {
          note(user === '' ? 'no quotas' : `no quotas for ${user}`);
          return EXIT.ok;
        }
        out(table(quotas, [
          { header: 'USER', value: (q) => q.user },
          { header: 'BAND', value: (q) => bandName(q.band) },
          { header: 'CPU', value: (q) => usedOf(q.used?.cpuMillis ?? 0, q.limit?.cpuMillis ?? 0, cpu), right: true },
          { header: 'RAM', value: (q) => usedOf(q.used?.ramBytes ?? 0, q.limit?.ramBytes ?? 0, bytes), right: true },
          { header: 'DISK', value: (q) => usedOf(q.used?.diskBytes ?? 0, q.limit?.diskBytes ?? 0, bytes), right: true },
          { header: 'PORTS', value: (q) => usedOf(q.used?.ports ?? 0, q.limit?.ports ?? 0, String), right: true },
        ]));
        return EXIT.ok;
      });
    },
  },
  true,
);
