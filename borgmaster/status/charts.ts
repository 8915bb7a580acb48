// Server-rendered inline SVG charts: the cell's capacity stacked by priority band, and per-task bars. Only our
// numbers go into the markup; every label passes through the one escaping helper.
import type { Resources } from '../../model/resources';
import { html, raw, type Html } from './escape';
import type { BandName, BandResources } from './source';
import { bytes, cpu, percent } from './format';

/** BAND_COLOURS: low bands cool, prod warm, monitoring violet; the same in the CSS legend and the heat map. */
export const BAND_COLOURS: Readonly<Record<BandName, string>> = {
  free: '#9aa5b1',
  batch: '#5b8def',
  mid: '#36b3a8',
  prod: '#e8843c',
  monitoring: '#a05bd6',
};

export type Dimension = 'cpuMillis' | 'ramBytes' | 'diskBytes' | 'ports';
export const DIMENSIONS: readonly { key: Dimension; label: string; fmt: (n: number) => string }[] = [
  { key: 'cpuMillis', label: 'CPU', fmt: cpu },
  { key: 'ramBytes', label: 'RAM', fmt: bytes },
  { key: 'diskBytes', label: 'Disk', fmt: bytes },
  { key: 'ports', label: 'Ports', fmt: (n) => String(n) },
];

const WIDTH = 560;
const ROW_H = 16;
const LABEL_W = 90;

function n(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : '0';
}

/**
 * bandChart draws, for one resource, three stacked bars over the cell's capacity: limits, reservations and
 * usage, each split by priority band. Overcommitment (limits above capacity) runs past the capacity line.
 */
export function bandChart(dim: (typeof DIMENSIONS)[number], capacity: Resources, bands: readonly BandResources[]): Html {
  const cap = capacity[dim.key];
  const kinds = [
    ['limit', 'limits'],
    ['reservation', 'reservations'],
    ['usage', 'usage'],
  ] as const;
  const totals = kinds.map(([k]) => bands.reduce((s, b) => s + b[k][dim.key], 0));
  const scaleMax = Math.max(cap, ...totals, 1);
  const barW = WIDTH - LABEL_W - 80;
  const px = (v: number) => (v / scaleMax) * barW;
  const rows: Html[] = kinds.map(([k, label], i) => {
    const y = i * (ROW_H + 6);
    let x = LABEL_W;
    const segs: Html[] = [];
    for (const b of bands) {
      const v = b[k][dim.key];
      if (v <= 0) continue;
      const w = px(v);
      segs.push(html`<rect x="${n(x)}" y="${y}" width="${n(Math.max(w, 0.5))}" height="${ROW_H}" fill="${BAND_COLOURS[b.band]}"><title>${b.band} ${label}: ${dim.fmt(v)} (${percent(v, cap)} of capacity)</title></rect>`);
      x += w;
    }
    const total = totals[i] ?? 0;
    return html`<text x="0" y="${y + 12}" class="lbl">${label}</text><rect x="${LABEL_W}" y="${y}" width="${n(px(cap))}" height="${ROW_H}" class="track"/>${segs}<text x="${n(LABEL_W + barW + 6)}" y="${y + 12}" class="num">${percent(total, cap)}</text>`;
  });
  const h = kinds.length * (ROW_H + 6) + 4;
  const capX = LABEL_W + px(cap);
  return html`<figure class="chart"><figcaption><b>${dim.label}</b> capacity ${dim.fmt(cap)}</figcaption><svg role="img" aria-label="${dim.label} by priority band" viewBox="0 0 ${WIDTH} ${h}" width="${WIDTH}" height="${h}">${rows}<line x1="${n(capX)}" x2="${n(capX)}" y1="0" y2="${h}" class="capline"/></svg></figure>`;
}

export function bandLegend(): Html {
  return html`<div class="legend">${(Object.keys(BAND_COLOURS) as BandName[]).map((b) => html`<span><i style="background:${BAND_COLOURS[b]}"></i>${b}</span>`)}</div>`;
}

/** meter draws limit, reservation and usage of one task or machine against a scale, as three thin bars. */
export function meter(scale: number, limit: number, reservation: number | undefined, usage: number | undefined, fmt: (n: number) => string): Html {
  const w = 120;
  const s = Math.max(scale, limit, reservation ?? 0, usage ?? 0, 1);
  const bar = (v: number | undefined, y: number, cls: string, what: string) =>
    v === undefined ? raw('') : html`<rect x="0" y="${y}" width="${n((v / s) * w)}" height="4" class="${cls}"><title>${what} ${fmt(v)}</title></rect>`;
  return html`<svg class="meter" viewBox="0 0 ${w} 14" width="${w}" height="14"><rect x="0" y="0" width="${w}" height="14" class="track"/>${bar(limit, 0, 'm-limit', 'limit')}${bar(reservation, 5, 'm-res', 'reservation')}${bar(usage, 10, 'm-use', 'usage')}</svg>`;
}
