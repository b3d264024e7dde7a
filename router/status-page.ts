/**
 * GET /status (a page with no build step and no outside assets) and GET /status.json, on the admin
 * listener. The page asks for status.json every two seconds and draws it: totals, a chart of the
 * last minutes, every relay and every router.
 */
import express, { type Router } from 'express';
import { sendOk } from '../shared/respond';
import type { StatusHistory } from './status';

export function statusRoutes(history: StatusHistory): Router {
  const r = express.Router();
  r.get('/status.json', (_req, res) =>
    sendOk(res, undefined, { ok: true, ...(history.view() ?? { relays: [], routers: [], history: [] }) }),
  );
  r.get('/status', (_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
    res.end(PAGE);
  });
  return r;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>polysocket status</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .5em}h2{font-size:1.05em;margin:1.5em 0 .4em}
.totals{display:flex;gap:1.5em;flex-wrap:wrap}.totals div{background:#f3f5f8;padding:.6em 1em;border-radius:6px}
.totals b{display:block;font-size:1.5em}
table{border-collapse:collapse;width:100%}th,td{text-align:right;padding:.3em .6em;border-bottom:1px solid #e3e6ea;white-space:nowrap}
th:first-child,td:first-child,td.l{text-align:left}th{font-weight:600;color:#555}
tr.stale td{color:#999;background:#fff7e6}tr.draining td{background:#eef4ff}
.badge{font-size:.8em;padding:.1em .4em;border-radius:4px;background:#e3e6ea;color:#333}
tr.stale .badge{background:#f0b429;color:#000}
.bar{display:inline-block;height:.7em;background:#2b6cb0;vertical-align:middle;margin-right:.3em}
svg{background:#fafbfc;border:1px solid #e3e6ea;border-radius:6px}.muted{color:#777}
</style></head><body>
<h1>polysocket status <span class="muted" id="updated"></span></h1>
<div class="totals" id="totals"></div>
<h2>Last minutes</h2>
<svg id="chart" width="720" height="140" viewBox="0 0 720 140"></svg>
<div class="muted"><span style="color:#2b6cb0">■</span> sockets open &nbsp; <span style="color:#2f855a">■</span> messages/s &nbsp;
<span style="color:#c53030">■</span> refusals/s (each scaled to its own maximum)</div>
<h2>Relays</h2>
<table id="relays"><thead><tr><th>relay</th><th>host</th><th>state</th><th>sockets</th><th>share</th><th>opened/s</th><th>closed/s</th>
<th>msgs in/s</th><th>msgs out/s</th><th>bytes in/s</th><th>bytes out/s</th><th>heartbeat age</th></tr></thead><tbody></tbody></table>
<h2>Routers</h2>
<table id="routers"><thead><tr><th>router</th><th>state</th><th>creates/s</th><th>refusals/s</th><th>pending</th><th>refusals by code</th>
<th>heartbeat age</th></tr></thead><tbody></tbody></table>
<script>
function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function n(x, d) { return x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(d === undefined ? 1 : d); }
function age(ms) { return ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s'; }
function row(body, cls, cells) {
  var tr = el('tr', cls ? { class: cls } : {});
  cells.forEach(function (c) {
    var td = el('td', c.l ? { class: 'l' } : {});
    if (c.node) td.appendChild(c.node); else td.textContent = c.t;
    tr.appendChild(td);
  });
  body.appendChild(tr);
  return tr;
}
function state(x) { return x.stale ? 'stale' : x.draining ? 'draining' : 'live'; }
function badge(x) { return el('span', { class: 'badge' }, state(x)); }
function share(s) {
  var w = el('span');
  w.appendChild(el('span', { class: 'bar', style: 'width:' + Math.round(s * 80) + 'px' }));
  w.appendChild(document.createTextNode(Math.round(s * 100) + '%'));
  return w;
}
function draw(history) {
  var svg = document.getElementById('chart');
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  if (history.length < 2) return;
  var t0 = history[0].at, t1 = history[history.length - 1].at || t0 + 1;
  [['sockets', '#2b6cb0'], ['messagesPerSecond', '#2f855a'], ['refusalsPerSecond', '#c53030']].forEach(function (s) {
    var max = Math.max.apply(null, history.map(function (h) { return h[s[0]]; })) || 1;
    var pts = history.map(function (h) {
      return ((h.at - t0) / (t1 - t0 || 1) * 700 + 10).toFixed(1) + ',' + (130 - h[s[0]] / max * 120).toFixed(1);
    });
    var line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    var attrs = { points: pts.join(' '), fill: 'none', stroke: s[1], 'stroke-width': 2, 'data-series': s[0] };
    for (var k in attrs) line.setAttribute(k, attrs[k]);
    svg.appendChild(line);
  });
}
function render(v) {
  document.getElementById('updated').textContent = 'updated ' + new Date(v.at || Date.now()).toLocaleTimeString();
  var t = document.getElementById('totals');
  t.innerHTML = '';
  var tot = v.totals || { relays: 0, routers: 0, sockets: 0, messagesPerSecond: 0, createsPerSecond: 0, refusalsPerSecond: 0 };
  [['relays', tot.relays], ['routers', tot.routers], ['sockets open', tot.sockets], ['messages/s', n(tot.messagesPerSecond)],
   ['creates/s', n(tot.createsPerSecond)], ['refusals/s', n(tot.refusalsPerSecond)]].forEach(function (p) {
    var d = el('div', { 'data-total': p[0] });
    d.appendChild(el('b', {}, String(p[1])));
    d.appendChild(document.createTextNode(p[0]));
    t.appendChild(d);
  });
  var rb = document.querySelector('#relays tbody'); rb.innerHTML = '';
  v.relays.forEach(function (r) {
    var p = r.perSecond;
    row(rb, r.stale ? 'stale' : r.draining ? 'draining' : '', [
      { t: r.id, l: 1 }, { t: r.host, l: 1 }, { node: badge(r) }, { t: String(r.sockets) },
      { node: share(r.share) }, { t: n(p.opened) }, { t: n(p.closed) }, { t: n(p.messagesIn) }, { t: n(p.messagesOut) },
      { t: n(p.bytesIn, 0) }, { t: n(p.bytesOut, 0) }, { t: age(r.heartbeatAgeMs) }]).setAttribute('data-relay', r.id);
  });
  var tb = document.querySelector('#routers tbody'); tb.innerHTML = '';
  v.routers.forEach(function (r) {
    var codes = Object.keys(r.refused).map(function (k) { return k + ' ' + r.refused[k]; }).join(', ') || '—';
    row(tb, r.stale ? 'stale' : '', [{ t: r.id, l: 1 }, { node: badge(r) }, { t: n(r.createsPerSecond) }, { t: n(r.refusalsPerSecond) },
      { t: String(r.pendingCreates) }, { t: codes, l: 1 }, { t: age(r.heartbeatAgeMs) }]).setAttribute('data-router', r.id);
  });
  draw(v.history || []);
}
function refresh() {
  fetch('status.json', { cache: 'no-store', credentials: 'same-origin' })
    .then(function (r) { return r.json(); })
    .then(render, function () {})
    .then(function () { setTimeout(refresh, 2000); });
}
refresh();
</script></body></html>`;
