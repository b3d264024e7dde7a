/**
 * The all-in-one's demo: an echo WebSocket target on the same server, and a page that talks to
 * it through the long-poll path (the fallback is forced, so even a modern browser shows it).
 */
import type http from 'node:http';
import type { Response } from 'express';
import { WebSocketServer } from 'ws';
import { scriptSafeJson } from '../shared/jsonp';

export function attachEchoTarget(server: http.Server, path: string): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => undefined);
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url?.split('?')[0] !== path) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  return wss;
}

export function demoPage(res: Response, o: { router: string; token: string; target: string }): void {
  const cfg = scriptSafeJson({ router: o.router, token: o.token, force: true });
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!doctype html>
<html><head><meta charset="utf-8"><title>polysocket demo</title>
<style>body{font:15px system-ui,sans-serif;margin:2em;max-width:46em}
#log{background:#f4f4f4;padding:1em;min-height:8em;white-space:pre-wrap}</style>
</head><body>
<h1>polysocket</h1>
<p>This page reaches the echo server <code>${o.target}</code> through polysocket's long-polling path
(the native WebSocket is bypassed on purpose).</p>
<form id="f"><input id="msg" value="hello" autofocus> <button>send</button></form>
<pre id="log"></pre>
<script>window.POLYSOCKET_CONFIG = ${cfg};</script>
<script src="/polysocket.js"></script>
<script>
var log = document.getElementById('log');
function say(s) { log.appendChild(document.createTextNode(s + '\\n')); }
var ws = new PolySocket(${scriptSafeJson(o.target)});
ws.onopen = function () { say('open (via ' + ws.transport + ')'); };
ws.onmessage = function (e) { say('echo: ' + e.data); };
ws.onclose = function (e) { say('closed ' + e.code + ' ' + e.reason); };
document.getElementById('f').onsubmit = function () {
  var m = document.getElementById('msg').value; ws.send(m); say('sent: ' + m); return false;
};
</script>
</body></html>`);
}
