// The Cell page: machines by state, capacity with limits, reservations and usage stacked by priority band (SVG),
// pending tasks by band, scheduler pass latency, and the Borgmaster replicas with leader, log index and lag.
import { html, href, type Html } from '../escape';
import type { CellSummary, ReplicaInfo } from '../source';
import { BAND_COLOURS, DIMENSIONS, bandChart, bandLegend } from '../charts';
import { bytes, count, cpu, percent, seconds, time } from '../format';
import { layout, type PageContext } from './layout';

function tile(label: string, value: string, link: string, cls = ''): Html {
  return html`<a class="tile ${cls}" href="${link}"><span class="v">${value}</span><span class="l">${label}</span></a>`;
}

function replicasTable(r: ReplicaInfo): Html {
  return html`<table class="grid" id="replicas"><thead><tr><th>replica</th><th>address</th><th>role</th><th>reachable</th><th class="r">log index</th><th class="r">applied</th><th class="r">lag</th><th>status page</th></tr></thead><tbody>${r.replicas.map(
    (x) =>
      html`<tr class="${x.id === r.selfId ? 'self' : ''}"><td>${x.id}${x.id === r.selfId ? html` <span class="dim">(this page)</span>` : ''}</td><td class="mono">${x.address}</td><td>${x.leader ? html`<span class="badge ok">leader</span>` : 'follower'}</td><td>${x.reachable ? 'yes' : html`<span class="st st-dead">no</span>`}</td><td class="r">${count(x.logIndex)}</td><td class="r">${count(x.appliedIndex)}</td><td class="r ${x.lag > 0 ? 'warnc' : ''}">${count(x.lag)}</td><td>${x.statusUrl !== '' ? html`<a href="${x.statusUrl}">${x.statusUrl}</a>` : '-'}</td></tr>`,
  )}</tbody></table>`;
}

export function cellPage(s: CellSummary, ctx: PageContext): Html {
  const pendingTotal = s.tasks.PENDING;
  const bandRows = s.bands.map(
    (b) =>
      html`<tr><td><i class="sw" style="background:${BAND_COLOURS[b.band]}"></i>${b.band}</td><td class="r">${count(b.tasks)}</td><td class="r"><a href="${href('/tasks', { band: b.band, state: 'PENDING' })}">${count(s.pendingByBand[b.band])}</a></td><td class="r">${cpu(b.limit.cpuMillis)}</td><td class="r">${cpu(b.reservation.cpuMillis)}</td><td class="r">${cpu(b.usage.cpuMillis)}</td><td class="r">${bytes(b.limit.ramBytes)}</td><td class="r">${bytes(b.reservation.ramBytes)}</td><td class="r">${bytes(b.usage.ramBytes)}</td></tr>`,
  );
  const p = s.passes;
  const body = html`
<section class="tiles">
${tile('machines up', count(s.machines.UP), href('/machines', { state: 'UP' }), 'ok')}
${tile('draining', count(s.machines.DRAINING), href('/machines', { state: 'DRAINING' }), s.machines.DRAINING > 0 ? 'warn' : '')}
${tile('down', count(s.machines.DOWN), href('/machines', { state: 'DOWN' }), s.machines.DOWN > 0 ? 'bad' : '')}
${tile('jobs', count(s.jobs), '/jobs')}
${tile('tasks running', count(s.tasks.RUNNING), href('/tasks', { state: 'RUNNING' }))}
${tile('running unhealthy', count(s.unhealthy), href('/tasks', { health: 'unhealthy' }), s.unhealthy > 0 ? 'warn' : '')}
${tile('tasks pending', count(pendingTotal), href('/tasks', { state: 'PENDING' }), pendingTotal > 0 ? 'warn' : '')}
${tile('tasks dead', count(s.tasks.DEAD), href('/tasks', { state: 'DEAD' }))}
</section>
<p class="meta">cell time ${time(s.timeMs)} · applied log index ${count(s.appliedIndex)}</p>
<div class="cols">
<section class="panel"><h2>Capacity by priority band</h2>${bandLegend()}<div id="charts">${DIMENSIONS.map((d) => bandChart(d, s.capacity, s.bands))}</div>
<p class="dim small">Bars are the cell's capacity (machines not DOWN, the vertical line); limits past it are overcommitment that reclamation (B15 §5.5) makes safe.</p></section>
<section class="panel"><h2>Scheduler</h2>
<table class="kv" id="passes"><tr><th>passes</th><td>${count(p.count)}</td></tr><tr><th>last pass</th><td>${seconds(p.lastSeconds)}</td></tr><tr><th>p50</th><td>${seconds(p.p50Seconds)}</td></tr><tr><th>p99</th><td>${seconds(p.p99Seconds)}</td></tr><tr><th>max</th><td>${seconds(p.maxSeconds)}</td></tr></table>
<h2>Pending by band</h2>
<table class="grid" id="bands"><thead><tr><th>band</th><th class="r">running</th><th class="r">pending</th><th class="r">cpu limit</th><th class="r">cpu res</th><th class="r">cpu use</th><th class="r">ram limit</th><th class="r">ram res</th><th class="r">ram use</th></tr></thead><tbody>${bandRows}</tbody></table>
<p class="small">CPU allocated: ${percent(
    s.bands.reduce((a, b) => a + b.limit.cpuMillis, 0),
    s.capacity.cpuMillis,
  )} of ${cpu(s.capacity.cpuMillis)}; RAM allocated: ${percent(
    s.bands.reduce((a, b) => a + b.limit.ramBytes, 0),
    s.capacity.ramBytes,
  )} of ${bytes(s.capacity.ramBytes)}.</p>
<p class="small dim" id="usage-coverage">Use: the latest samples of ${count(s.bands.reduce((a, b) => a + b.sampledTasks, 0))} of ${count(s.tasks.RUNNING)} running tasks, on ${count(s.sampledMachines)} of ${count(s.machines.UP + s.machines.DRAINING)} machines up, from every replica's link shard.</p>
</section>
</div>
<section class="panel"><h2>Borgmaster replicas</h2>${replicasTable(ctx.replica)}</section>`;
  return layout(ctx, `Cell ${s.cell}`, '*', body);
}
