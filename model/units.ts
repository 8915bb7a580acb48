// Quantities with units, shared by the cell config, BCL and the CLI: CPU (`500m`, `2`, `1.5`) and bytes
// (`512MiB`, `2GiB`, `1G`, plain numbers), durations (`10s`, `500ms`, `5m`, `1h`).
import { InvalidArgument } from './errors';

const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  K: 1e3, KB: 1e3, M: 1e6, MB: 1e6, G: 1e9, GB: 1e9, T: 1e12, TB: 1e12,
  Ki: 1024, KiB: 1024, Mi: 1024 ** 2, MiB: 1024 ** 2, Gi: 1024 ** 3, GiB: 1024 ** 3, Ti: 1024 ** 4, TiB: 1024 ** 4,
};

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$/;

function checked(value: number, field: string, what: string): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgument(field, `${what} must be a non-negative number`);
  const rounded = Math.round(value);
  if (!Number.isSafeInteger(rounded)) throw new InvalidArgument(field, `${what} ${value} is too large`);
  return rounded;
}

/** parseCpuMillis: `500m` -> 500, `2` -> 2000, `0.25` -> 250; a number is cores. */
export function parseCpuMillis(v: unknown, field: string): number {
  if (typeof v === 'number') return checked(v * 1000, field, 'cpu');
  if (typeof v !== 'string') throw new InvalidArgument(field, `cpu must be a number of cores or a string like "500m", got ${typeof v}`);
  const m = QUANTITY.exec(v.trim());
  if (!m || (m[2] !== '' && m[2] !== 'm')) throw new InvalidArgument(field, `${JSON.stringify(v)} is not a CPU quantity (e.g. "500m" or "2")`);
  const n = Number(m[1]);
  return checked(m[2] === 'm' ? n : n * 1000, field, 'cpu');
}

/** parseBytes: `512MiB`, `2GiB`, `1G`, `4096`; a number is bytes. */
export function parseBytes(v: unknown, field: string): number {
  if (typeof v === 'number') return checked(v, field, 'size');
  if (typeof v !== 'string') throw new InvalidArgument(field, `size must be a number of bytes or a string like "2GiB", got ${typeof v}`);
  const m = QUANTITY.exec(v.trim());
  const unit = m?.[2] ?? '';
  const scale = unit === '' ? 1 : BYTE_UNITS[unit];
  if (!m || scale === undefined) throw new InvalidArgument(field, `${JSON.stringify(v)} is not a size (e.g. "512MiB", "2GiB")`);
  return checked(Number(m[1]) * scale, field, 'size');
}

/** parseDurationMs: `10s`, `500ms`, `5m`, `1h`; a number is milliseconds. */
export function parseDurationMs(v: unknown, field: string): number {
  if (typeof v === 'number') return checked(v, field, 'duration');
  if (typeof v !== 'string') throw new InvalidArgument(field, `duration must be a number of ms or a string like "10s", got ${typeof v}`);
  const m = QUANTITY.exec(v.trim());
  const scale = m ? DURATION_UNITS[m[2] ?? ''] : undefined;
  if (!m || scale === undefined) throw new InvalidArgument(field, `${JSON.stringify(v)} is not a duration (e.g. "500ms", "10s", "5m")`);
  return checked(Number(m[1]) * scale, field, 'duration');
}

export { BYTE_UNITS, DURATION_UNITS };

const DURATION_SPELLINGS: readonly [number, string][] = [
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
];

/** formatDurationMs spells a duration exactly in its largest whole unit: `1h`, `10min`, `30s`, `250ms`. */
export function formatDurationMs(ms: number): string {
  for (const [scale, unit] of DURATION_SPELLINGS) if (ms !== 0 && Number.isInteger(ms / scale)) return `${ms / scale}${unit}`;
  return `${ms}ms`;
}
