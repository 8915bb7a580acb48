// The page shell: header with the cell, navigation, which replica answers and how current it is (the leader's
// view is marked authoritative, a follower shows its lag), and the live indicator. Every page goes through it.
import { html, type Html } from '../escape';
import type { ReplicaInfo } from '../source';
import { count } from '../format';

export interface PageContext {
  replica: ReplicaInfo;
  /** path of this page, for the active navigation tab. */
  path: string;
}

const NAV: readonly [string, string][] = [
  ['/', 'Cell'],
  ['/machines', 'Machines'],
  ['/jobs', 'Jobs'],
  ['/tasks', 'Tasks'],
  ['/events', 'Events'],
];

export function replicaBadge(r: ReplicaInfo): Html {
  if (r.authoritative) {
    return html`<span class="badge ok" id="replica" title="this replica is the elected master: its view is authoritative">replica ${r.selfId} · leader · authoritative</span>`;
  }
  const leader = r.leaderId === undefined ? 'no leader known' : `leader is replica ${r.leaderId}`;
  const lag = r.lagEntries === 0 ? 'up to date' : `${count(r.lagEntries)} entries behind`;
  return html`<span class="badge ${r.lagEntries === 0 ? 'info' : 'warn'}" id="replica" title="a follower's view may trail the leader">replica ${r.selfId} · follower · ${lag} · ${leader}</span>`;
}

/** watch names what this page shows, so the live script refreshes it only for relevant changes ('*' = any). */
export function layout(ctx: PageContext, title: string, watch: string, body: Html): Html {
  const r = ctx.replica;
  const active = (p: string) => (p === '/' ? ctx.path === '/' : ctx.path.startsWith(p.replace(/s$/, '')));
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${r.cell} · borg</title>
<link rel="stylesheet" href="/static/status.css">
<script src="/static/status.js" defer></script>
</head><body data-watch="${watch}">
<header class="top"><a class="brand" href="/">borg</a><span class="cell">cell <b>${r.cell}</b></span>
<nav>${NAV.map(([p, label]) => html`<a href="${p}" class="${active(p) ? 'on' : ''}">${label}</a>`)}</nav>
<span class="spacer"></span>${replicaBadge(r)}<span class="idx" id="log-index" title="log index this page reflects">@${count(r.appliedIndex)}</span><span id="live" class="live off" title="live updates">live</span>
</header>
<main id="main" data-log-index="${r.appliedIndex}">
<h1>${title}</h1>
${body}
</main>
</body></html>
`;
}
