// The Machines page: a heat map of the whole cell (one square per machine, drawn on a canvas by status.js from
// the compact /machines.json, so 10,000 machines cost one small request and one draw), and a paged table.
import { html, href, type Html } from '../escape';
import type { MachineRow, MachineStateName, Page } from '../source';
import { bytes, count, cpu, percent } from '../format';
import { filterForm, machineLink, pager, stateBadge } from './components';
import { layout, type PageContext } from './layout';

export interface MachineListQuery {
  state: MachineStateName | undefined;
  q: string | undefined;
  offset: number;
  limit: number;
}

export function machinesPage(all: readonly MachineRow[], q: MachineListQuery, ctx: PageContext): Html {
  const rows = all.filter((m) => (q.state === undefined || m.state === q.state) && (q.q === undefined || m.name.includes(q.q)));
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const p: Page<MachineRow> = { rows: rows.slice(q.offset, q.offset + q.limit), total: rows.length, offset: q.offset, limit: q.limit };
  const query = { state: q.state, q: q.q };
  const body = html`
<section class="panel"><div class="hm-bar"><b>Heat map</b> <label>colour by <select id="hm-mode"><option value="limit">allocation (limits)</option><option value="reservation">reservations</option><option value="usage">usage</option></select></label>
<span class="hm-scale"><i style="background:#e7f5ec"></i>0% <i style="background:#f6e58d"></i>50% <i style="background:#e17055"></i>90% <i style="background:#8e1c1c"></i>100% <i class="hm-drain"></i>draining <i class="hm-down"></i>down</span>
<span id="hm-info" class="dim">hover a machine; click to open it</span></div>
<canvas id="heatmap" data-src="/machines.json" width="1200" height="40"></canvas></section>
<section class="panel"><h2>Machines</h2>
${filterForm('/machines', [
  { name: 'state', label: 'state', value: q.state, options: ['UP', 'DRAINING', 'DOWN'] },
  { name: 'q', label: 'name', value: q.q },
], {})}
${pager('/machines', query, p)}
<table class="grid filterable" id="machines"><thead><tr><th>machine</th><th>state</th><th>rack</th><th>power</th><th class="r">tasks</th><th class="r">cpu</th><th class="r">cpu alloc</th><th class="r">cpu res</th><th class="r">ram</th><th class="r">ram alloc</th><th class="r">ram res</th><th class="r">cpu use</th><th class="r">ram use</th></tr></thead>
<tbody>${p.rows.map(
    (m) =>
      html`<tr><td class="mono">${machineLink(m.name)}</td><td>${stateBadge(m.state)}</td><td>${m.rack}</td><td>${m.powerDomain}</td><td class="r">${m.tasks}</td><td class="r">${cpu(m.capacity.cpuMillis)}</td><td class="r">${percent(m.allocatedLimit.cpuMillis, m.capacity.cpuMillis)}</td><td class="r">${percent(m.allocatedReservation.cpuMillis, m.capacity.cpuMillis)}</td><td class="r">${bytes(m.capacity.ramBytes)}</td><td class="r">${percent(m.allocatedLimit.ramBytes, m.capacity.ramBytes)}</td><td class="r">${percent(m.allocatedReservation.ramBytes, m.capacity.ramBytes)}</td><td class="r">${m.usage === undefined ? '-' : percent(m.usage.cpuMillis, m.capacity.cpuMillis)}</td><td class="r">${m.usage === undefined ? '-' : percent(m.usage.ramBytes, m.capacity.ramBytes)}</td></tr>`,
  )}</tbody></table>
${pager('/machines', query, p)}</section>`;
  return layout(ctx, `Machines (${count(all.length)})`, '*', body);
}

export function machinesLinkFor(state: MachineStateName): string {
  return href('/machines', { state });
}
