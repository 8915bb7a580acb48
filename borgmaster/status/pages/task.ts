// The Task page: where it runs and what it holds, why it is pending (the scheduler's verdict), its spec (user
// values as text), its events and the tail of its log from the Borglet.
import { html, href, type Html } from '../escape';
import type { LogTail, TaskDetail } from '../source';
import { ago, resourcesText, time } from '../format';
import { jobLink, machineLink, stateBadge } from './components';
import { eventsTable } from './events';
import { specTable } from './spec';
import { layout, type PageContext } from './layout';

export type LogResult = { kind: 'ok'; tail: LogTail } | { kind: 'error'; message: string } | { kind: 'none'; message: string };

function logPanel(r: LogResult): Html {
  switch (r.kind) {
    case 'ok':
      return html`${r.tail.truncated ? html`<p class="dim small">showing the last part of the log</p>` : ''}<pre class="log" id="log-tail">${r.tail.text === '' ? '(empty)' : r.tail.text}</pre>`;
    case 'error':
      return html`<p class="err" id="log-tail">log tail unavailable: ${r.message}</p>`;
    case 'none':
      return html`<p class="dim" id="log-tail">${r.message}</p>`;
  }
}

export function taskPage(d: TaskDetail, log: LogResult, nowMs: number, ctx: PageContext): Html {
  const t = d.task;
  const body = html`
${d.whyPending !== undefined ? html`<div class="why" id="why-pending"><b>Why pending?</b> ${d.whyPending}</div>` : ''}
<div class="cols"><section class="panel"><table class="kv" id="task">
<tr><th>state</th><td><span id="task-state">${stateBadge(t.state)}</span> since ${time(t.stateTimeMs)} (${ago(t.stateTimeMs, nowMs)}) · last event ${t.lastEvent}</td></tr>
<tr><th>health</th><td id="task-health">${t.state !== 'RUNNING' ? html`<span class="dim">not running</span>` : html`${t.healthy ? 'healthy' : 'not healthy'} since ${time(t.healthTimeMs)} (${ago(t.healthTimeMs, nowMs)})${d.spec.healthCheck === '' ? html` <span class="dim">· no health check: healthy while its Borglet runs it</span>` : ''}`}</td></tr>
<tr><th>job</th><td>${jobLink(t.user, t.job)} task ${t.index}</td></tr>
<tr><th>priority</th><td>${t.priority} (${t.band})</td></tr>
<tr><th>machine</th><td class="mono" id="task-machine">${machineLink(t.machine)}</td></tr>
<tr><th>BNS name</th><td class="mono">${t.bnsName}${t.ports.length > 0 ? html` · ports ${t.ports.join(', ')}` : ''}</td></tr>
<tr><th>limit</th><td>${resourcesText(t.limit)}</td></tr>
<tr><th>reservation</th><td>${resourcesText(t.reservation)}</td></tr>
<tr><th>usage</th><td>${t.usage === undefined ? html`<span class="dim">no sample yet</span>` : resourcesText(t.usage)}</td></tr>
<tr><th>restarts</th><td>${t.restarts}${d.exitCode !== 0 ? html` · last exit code ${d.exitCode}` : ''}</td></tr>
<tr><th>spec version</th><td>${t.specVersion}</td></tr>
<tr><th>started</th><td>${time(t.startTimeMs)}</td></tr>
<tr><th>message</th><td class="msg">${t.message || '-'}</td></tr>
</table></section>
<section class="panel"><h2>Spec</h2>${specTable(d.spec)}</section></div>
<section class="panel"><h2>Events</h2><p class="small"><a href="${href('/events', { task: t.id })}">full history</a></p>${eventsTable(d.events)}</section>
<section class="panel"><h2>Log tail (stdout)</h2>${logPanel(log)}</section>`;
  return layout(ctx, `Task ${t.id}`, `task:${t.id}`, body);
}
