// The report: per-arm percentiles, sums over split cells, fluid bounds, comparisons; Markdown, SVG and JSON written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GiB } from '../../model/resources';
import type { WorkloadMachine, WorkloadTask } from '../workloads/types';
import { DEFAULT_RESERVATION_MODEL } from './experiments';
import type { JobResult } from './job';
import { ATTRIBUTION, markdown, summarize, writeReport, type RunInfo } from './report';
import { jobsFor, parseArgs } from './index';

const machines: WorkloadMachine[] = Array.from({ length: 10 }, (_, i) => ({ name: `m${i}`, capacity: { cpuMillis: 10_000, ramBytes: 10 * GiB, diskBytes: 0, ports: 0 }, attributes: {}, rack: 'r', powerDomain: 'p' }));
const tasks: WorkloadTask[] = Array.from({ length: 8 }, (_, i) => ({ job: 'j', user: 'u', index: i, priority: i < 4 ? 200 : 100, limit: { cpuMillis: 5_000, ramBytes: 2 * GiB, diskBytes: 0, ports: 0 }, constraints: [], spread: { maxPerMachine: 0, maxPerRack: 0, maxPerPowerDomain: 0 }, submitMs: 0 }));

function job(variantId: string, trial: number, machinesNeeded: number, part = 0): JobResult {
  return { variantId, trial, part, tasks: 8, picky: 0, allowedPending: 0, machines: machinesNeeded, fits: true, packings: 5, lowerBoundMachines: 3, pending: 0, reservedCpuFraction: 0.9, reservedRamFraction: 0.3, strandedCpuFraction: 0.01, strandedRamFraction: 0.2, wallSeconds: 1 };
}

test('summarize: p90 over trials, segregated arms summed per trial, fluid bound per arm', () => {
  const jobs: JobResult[] = [];
  for (let t = 0; t < 11; t++) {
    jobs.push(job('baseline', t, 4 + (t === 10 ? 2 : 0)));
    jobs.push(job('prod-only', t, 2));
    jobs.push(job('nonprod-only', t, 3));
  }
  const s = summarize('synthetic', machines, tasks, ['sharing'], 11, DEFAULT_RESERVATION_MODEL, jobs);
  const [shared, segregated] = s.experiments[0]?.arms ?? [];
  assert.ok(shared !== undefined && segregated !== undefined);
  assert.deepEqual([shared.p90, shared.min, shared.max], [4, 4, 6]);
  assert.deepEqual([segregated.p90, segregated.min, segregated.max], [5, 5, 5]);
  assert.equal(segregated.vsFirst, 0.25);
  // prod 4 x 5 cores = 2 machines; non-prod 4 x 5 cores x 0.45 = 0.9 machines of 10 cores
  assert.ok(Math.abs(shared.fluid.cpuMachines - 2.9) < 1e-9, String(shared.fluid.cpuMachines));
  assert.ok(Math.abs(shared.p90OverFluid - (4 / 2.9 - 1)) < 1e-9);
  assert.match(s.experiments[0]?.finding ?? '', /\+25\.0% machines/);
});

test('writeReport writes report.md with the attribution and command, an SVG per experiment, and JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'compaction-report-'));
  try {
    const jobs = [0, 1, 2].flatMap((t) => [job('baseline', t, 5), job('policy-worst', t, 6), job('policy-best', t, 7)]);
    const s = summarize('synthetic', machines, tasks, ['policies'], 3, DEFAULT_RESERVATION_MODEL, jobs);
    const info: RunInfo = { command: 'npm run bench -- compaction --experiments policies --trials 3', workloadNotes: ['synthetic'], sample: 1, poolFactor: 2, resolutionFraction: 0.0025, feasibleLimit: 64, workers: 2, wallSeconds: 12, cpuSeconds: 20, loadAverage: 3, jobs };
    const files = await writeReport(dir, s, info);
    assert.deepEqual(readdirSync(dir).sort(), ['policies.svg', 'report.json', 'report.md']);
    assert.equal(files.length, 3);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.ok(md.includes(ATTRIBUTION));
    assert.ok(md.includes(info.command));
    assert.match(md, /\| worst fit \| 6 \(60\.0%\) \| 6-6 \|/);
    assert.equal(md, markdown(s, info));
    const svg = readFileSync(join(dir, 'policies.svg'), 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.includes('hybrid fit'));
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { attribution: string; jobs: unknown[]; experiments: { arms: { p90: number }[] }[] };
    assert.equal(json.attribution, ATTRIBUTION);
    assert.equal(json.jobs.length, 9);
    assert.deepEqual(json.experiments[0]?.arms.map((a) => a.p90), [6, 7, 5]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('options: bad values are refused by name; jobs cover every variant, trial and split cell once', () => {
  assert.throws(() => parseArgs(['--trials', '0']), /--trials/);
  assert.throws(() => parseArgs(['--sample', '1.5']), /--sample/);
  assert.throws(() => parseArgs(['--experiments', 'sharing,nope']), /nope/);
  assert.throws(() => parseArgs(['--frobnicate']), /--frobnicate/);
  assert.throws(() => parseArgs(['--out']), /--out/);
  assert.throws(() => parseArgs(['--feasible-limit', '100000']), /--feasible-limit/);
  const o = parseArgs(['--trials', '5', '--experiments', 'cells,policies', '--sample', '0.1', '--reserve-cpu', '0.5']);
  assert.deepEqual([o.trials, o.experiments, o.sample, o.model.cpuFraction], [5, ['cells', 'policies'], 0.1, 0.5]);
  const jobs = jobsFor(['cells', 'policies'], 2, 1);
  // baseline, cells-2 (2 parts), cells-5 (5), cells-10 (10), policy-worst, policy-best: 20 per trial
  assert.equal(jobs.length, 2 * 20);
  assert.equal(new Set(jobs.map((j) => `${j.variant.id}/${j.trial}/${j.part}`)).size, jobs.length);
});
