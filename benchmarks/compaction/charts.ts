// SVG charts for the compaction report, drawn by Vega-Lite/Vega offline (no canvas: view.toSVG()). One chart per
// experiment: the 90th-percentile cell size per arm as a bar, min-max over trials as an error bar, the fluid bound
// as a tick.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

export interface ChartBar {
  label: string;
  p90: number;
  min: number;
  max: number;
  fluid: number;
  /** extra: a second measure shown beside the bar (e.g. stranded resources), or undefined. */
  note?: string;
}

export function compactionSpec(title: string, yTitle: string, bars: readonly ChartBar[]): TopLevelSpec {
  const order = bars.map((b) => b.label);
  const x = { field: 'label', type: 'nominal' as const, sort: order, title: null, axis: { labelAngle: 0, labelLimit: 180 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: Math.max(260, 150 * bars.length),
    height: 260,
    data: { values: bars.map((b) => ({ ...b })) },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8', width: { band: 0.6 } }, encoding: { x, y: { field: 'p90', type: 'quantitative', title: yTitle, scale: { zero: true } } } },
      { mark: { type: 'rule', strokeWidth: 2, color: '#222' }, encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
      { mark: { type: 'tick', color: '#e45756', thickness: 3, size: 60 }, encoding: { x, y: { field: 'fluid', type: 'quantitative' } } },
      { mark: { type: 'text', dy: -8, fontSize: 11 }, encoding: { x, y: { field: 'max', type: 'quantitative' }, text: { field: 'p90', type: 'quantitative', format: '.1f' } } },
    ],
  };
}

/** renderSvg compiles a Vega-Lite spec and renders it headless to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
