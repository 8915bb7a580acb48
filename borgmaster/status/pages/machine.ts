// The Machine page: its shape and state, its tasks with limit, reservation and usage bars against its capacity,
// and its recent events.
import { html, type Html } from '../escape';
import type { MachineDetail } from '../source';
import { bytes, count, cpu, percent, resourcesText } from '../format';
import { meter } from '../charts';
import { stateBadge, taskTable } from './components';
import { eventsTable } from './events';
import { layout, type PageContext } from './layout';

export function machinePage(d: MachineDetail, nowMs: number, ctx: PageContext): Html {
  const m = d.machine;
  const attrs = Object.entries(m.attributes);
  const body = html`
<div class="cols"><section class="panel"><table class="kv" id="machine">
<tr><th>state</th><td>${stateBadge(m.state)}</td></tr>
<tr><th>address</th><td class="mono">${m.address || '-'}</td></tr>
<tr><th>rack / power</th><td>${m.rack} / ${m.powerDomain}</td></tr>
<tr><th>capacity</th><td>${resourcesText(m.capacity)}</td></tr>
<tr><th>allocated (limits)</th><td>${resourcesText(m.allocatedLimit)}</td></tr>
<tr><th>reserved</th><td>${resourcesText(m.allocatedReservation)}</td></tr>
<tr><th>usage</th><td>${m.usage === undefined ? html`<span class="dim">no sample yet</span>` : resourcesText(m.usage)}</td></tr>
<tr><th>generation</th><td>${count(m.generation)}</td></tr>
<tr><th>attributes</th><td>${attrs.length === 0 ? '-' : attrs.map(([k, v]) => html`<code>${k}=${v}</code> `)}</td></tr>
</table></section>
<section class="panel"><h2>Load</h2><table class="kv"><tr><th>cpu</th><td>${meter(m.capacity.cpuMillis, m.allocatedLimit.cpuMillis, m.allocatedReservation.cpuMillis, m.usage?.cpuMillis, cpu)} ${percent(m.allocatedLimit.cpuMillis, m.capacity.cpuMillis)} of ${cpu(m.capacity.cpuMillis)}</td></tr>
<tr><th>ram</th><td>${meter(m.capacity.ramBytes, m.allocatedLimit.ramBytes, m.allocatedReservation.ramBytes, m.usage?.ramBytes, bytes)} ${percent(m.allocatedLimit.ramBytes, m.capacity.ramBytes)} of ${bytes(m.capacity.ramBytes)}</td></tr></table>
<p class="small"><span class="key m-limit"></span> limit <span class="key m-res"></span> reservation <span class="key m-use"></span> usage</p></section></div>
<section class="panel"><h2>Tasks (${count(d.tasks.length)})</h2>
${taskTable(d.tasks, { path: '', query: {}, sort: 'priority', dir: 'desc', nowMs, sortable: false, showJob: true, showBns: false, meterScale: { cpuMillis: m.capacity.cpuMillis, ramBytes: m.capacity.ramBytes } })}</section>
<section class="panel"><h2>Recent events</h2>${eventsTable(d.events)}</section>`;
  return layout(ctx, `Machine ${m.name}`, `machine:${m.name}`, body);
}
