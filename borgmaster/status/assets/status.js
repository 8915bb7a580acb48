// The status page's only script (served from the project; no outside assets). Three jobs:
//  1. live: follow /live (Server-Sent Events) and, when a change touches what this page shows (body[data-watch]),
//     fetch the page again and swap <main> in place: no reload, scroll and quick-filter kept.
//  2. the machines heat map: draw every machine from /machines.json on a canvas; hover shows it, click opens it.
//  3. quick filter: a text box that hides table rows not containing the text (client-side nicety on one page).
'use strict';
(function () {
  var body = document.body;
  var watch = (body.getAttribute('data-watch') || '').split(' ').filter(Boolean);
  var liveEl = document.getElementById('live');
  var lastIndex = Number((document.getElementById('main') || {}).dataset ? document.getElementById('main').dataset.logIndex : 0);
  var refreshing = false, again = false, lastRefresh = 0, timer = null;
  window.__borgStatus = { refreshes: 0, notices: 0, heatmapMs: -1 };

  function setLive(state) { if (liveEl) liveEl.className = 'live ' + state; }

  function relevant(n) {
    if (watch.length === 0) return false;
    if (n.all || watch.indexOf('*') >= 0) return true;
    for (var i = 0; i < watch.length; i++) {
      var w = watch[i], c = w.indexOf(':');
      var kind = w.slice(0, c), id = w.slice(c + 1);
      var list = kind === 'task' ? n.tasks : kind === 'job' ? n.jobs : kind === 'machine' ? n.machines : [];
      if (list.indexOf(id) >= 0) return true;
      // A task page also follows its job (an update or a kill changes the task too).
      if (kind === 'task' && n.jobs.indexOf(id.split('/').slice(0, 3).join('/')) >= 0) return true;
    }
    return false;
  }

  function schedule() {
    // Whole-cell pages refresh at most once a second; the first change after a quiet spell shows at once.
    var wait = Math.max(0, lastRefresh + (watch.indexOf('*') >= 0 ? 1000 : 200) - Date.now());
    if (timer === null) timer = setTimeout(function () { timer = null; refresh(); }, wait);
  }

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true; lastRefresh = Date.now(); setLive('busy');
    fetch(location.href, { headers: { Accept: 'text/html' }, cache: 'no-store' }).then(function (r) { return r.text(); }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, 'text/html');
      var fresh = doc.getElementById('main'), cur = document.getElementById('main');
      if (fresh && cur) {
        cur.innerHTML = fresh.innerHTML;
        cur.dataset.logIndex = fresh.dataset.logIndex;
        lastIndex = Number(fresh.dataset.logIndex);
        ['replica', 'log-index'].forEach(function (id) {
          var a = document.getElementById(id), b = doc.getElementById(id);
          if (a && b) a.outerHTML = b.outerHTML;
        });
        window.__borgStatus.refreshes++;
        enhance();
      }
    }).catch(function () { /* the next change retries */ }).then(function () {
      refreshing = false; setLive(source && source.readyState === 1 ? 'on' : 'off');
      if (again) { again = false; schedule(); }
    });
  }

  var source = null;
  if (watch.length > 0 && window.EventSource) {
    source = new EventSource('/live');
    source.onopen = function () { setLive('on'); };
    source.onerror = function () { setLive('off'); };
    source.addEventListener('change', function (e) {
      var n = JSON.parse(e.data);
      window.__borgStatus.notices++;
      if (n.logIndex > lastIndex && relevant(n)) schedule();
    });
  }

  // ---- quick filter over the page's tables
  var quickValue = '';
  function applyQuick() {
    var needle = quickValue.toLowerCase();
    document.querySelectorAll('table.filterable tbody tr').forEach(function (tr) {
      tr.classList.toggle('hidden', needle !== '' && tr.textContent.toLowerCase().indexOf(needle) < 0);
    });
  }
  function enhance() {
    var main = document.getElementById('main');
    if (main && main.querySelector('table.filterable') && !document.getElementById('quick')) {
      var p = document.createElement('div');
      p.className = 'quick';
      p.innerHTML = '<input id="quick" placeholder="filter rows on this page (press /)" autocomplete="off">';
      main.insertBefore(p, main.querySelector('h1').nextSibling);
      var input = p.querySelector('input');
      input.value = quickValue;
      input.addEventListener('input', function () { quickValue = input.value; applyQuick(); });
    }
    applyQuick();
    heatmap();
  }
  document.addEventListener('keydown', function (e) {
    var q = document.getElementById('quick');
    if (e.key === '/' && q && document.activeElement !== q && !(document.activeElement && /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName))) { e.preventDefault(); q.focus(); }
  });

  // ---- heat map
  var hm = null; // { data, cell, cols }
  function colour(f) {
    // 0..255 -> pale green through yellow and orange to dark red: load is what an SRE scans for.
    var stops = [[0, [231, 245, 236]], [128, [246, 229, 141]], [230, [225, 112, 85]], [255, [142, 28, 28]]];
    for (var i = 1; i < stops.length; i++) {
      if (f <= stops[i][0]) {
        var a = stops[i - 1], b = stops[i], t = (f - a[0]) / (b[0] - a[0]);
        return 'rgb(' + [0, 1, 2].map(function (k) { return Math.round(a[1][k] + t * (b[1][k] - a[1][k])); }).join(',') + ')';
      }
    }
    return 'rgb(142,28,28)';
  }
  function draw() {
    var canvas = document.getElementById('heatmap');
    if (!canvas || !hm) return;
    var t0 = performance.now();
    var d = hm.data, n = d.names.length;
    var mode = (document.getElementById('hm-mode') || { value: 'limit' }).value;
    var width = canvas.parentElement.clientWidth - 4;
    var cell = n > 4000 ? 8 : n > 1000 ? 12 : 16, gap = 1;
    var cols = Math.max(1, Math.floor(width / (cell + gap)));
    var rows = Math.max(1, Math.ceil(n / cols));
    canvas.width = cols * (cell + gap); canvas.height = rows * (cell + gap);
    canvas.dataset.cell = String(cell + gap); canvas.dataset.cols = String(cols); canvas.dataset.count = String(n);
    var ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    var vals = d[mode];
    for (var i = 0; i < n; i++) {
      var x = (i % cols) * (cell + gap), y = Math.floor(i / cols) * (cell + gap);
      if (d.states[i] === 2) ctx.fillStyle = '#444';
      else ctx.fillStyle = colour(vals[i]);
      ctx.fillRect(x, y, cell, cell);
      if (d.states[i] === 1) { ctx.strokeStyle = '#c27c0e'; ctx.lineWidth = 2; ctx.strokeRect(x + 1, y + 1, cell - 2, cell - 2); }
    }
    hm.cell = cell + gap; hm.cols = cols;
    window.__borgStatus.heatmapMs = performance.now() - t0;
    canvas.dataset.drawn = String(d.appliedIndex);
  }
  function at(e) {
    var canvas = document.getElementById('heatmap');
    if (!canvas || !hm) return -1;
    var r = canvas.getBoundingClientRect();
    var sx = canvas.width / r.width, sy = canvas.height / r.height;
    var col = Math.floor((e.clientX - r.left) * sx / hm.cell), row = Math.floor((e.clientY - r.top) * sy / hm.cell);
    var i = row * hm.cols + col;
    return col < hm.cols && i >= 0 && i < hm.data.names.length ? i : -1;
  }
  function heatmap() {
    var canvas = document.getElementById('heatmap');
    if (!canvas) return;
    fetch(canvas.dataset.src, { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (data) {
      hm = { data: data, cell: 16, cols: 1 };
      draw();
    });
    var sel = document.getElementById('hm-mode');
    if (sel && !sel.dataset.bound) { sel.dataset.bound = '1'; sel.addEventListener('change', draw); }
    if (canvas.dataset.bound) return;
    canvas.dataset.bound = '1';
    var info = document.getElementById('hm-info');
    canvas.addEventListener('mousemove', function (e) {
      var i = at(e);
      if (i < 0 || !info) return;
      var d = hm.data, st = ['UP', 'DRAINING', 'DOWN'][d.states[i]];
      info.textContent = d.names[i] + ' · ' + st + ' · ' + d.tasks[i] + ' tasks · alloc ' + Math.round(d.limit[i] / 2.55) + '% · res ' + Math.round(d.reservation[i] / 2.55) + '% · use ' + Math.round(d.usage[i] / 2.55) + '%';
    });
    canvas.addEventListener('click', function (e) {
      var i = at(e);
      if (i >= 0) location.href = '/machine/' + encodeURIComponent(hm.data.names[i]);
    });
  }
  window.addEventListener('resize', function () { draw(); });
  enhance();
})();
