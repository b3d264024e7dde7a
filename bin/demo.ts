/**
 * The all-in-one's demo: an echo WebSocket target on the same server, and a page that talks to
 * it through the long-poll path (the fallback is forced, so even a modern browser shows it).
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import express, { type Response, type Router } from 'express';
import { DEMO_KEY_ID, mintToken } from '../router/token';
import { WebSocketServer } from 'ws';
import { scriptSafeJson } from '../shared/jsonp';
import { createServer, listen } from '../shared/http-server';
import { HOST_AND_PORT } from '../shared/urls';

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

export const DEMO_PATH = '/echo';

export interface DemoOptions {
  /** the demo's own signing key (never the operator's) */
  key: string;
  /** the echo target, the only one demo tokens name */
  target: string;
  port: number;
  /** NETWORK: the page may come from any host name or address this machine answers to */
  network: boolean;
  /** where the page finds the router (default: this server) */
  router?: string;
  /** the token header's kid; the all-in-one's demo key has its own, an operator's secret none */
  keyId?: string;
  audience?: string;
  issuer?: string;
}

/** Minutes, and a few sockets: a demo token copied off the page is worth little. */
const DEMO_TOKEN_TTL_S = 600;
const DEMO_TOKEN_MAX_SOCKETS = 4;

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2b6cb0"/>' +
  '<path d="M4 5h8M4 8h8M4 11h5" stroke="#fff" stroke-width="1.6"/></svg>';

/** GET / (the page, with a token minted for this view) and its favicon. */
export function demoRoutes(o: DemoOptions): Router {
  const r = express.Router();
  r.get('/', (req, res) => {
    const origins = [`http://localhost:${o.port}`, `http://127.0.0.1:${o.port}`];
    const host = req.headers.host;
    if (o.network && host && HOST_AND_PORT.test(host)) origins.push(`http://${host.toLowerCase()}`);
    const token = mintToken(o.key, {
      targets: [o.target],
      origins,
      maxSockets: DEMO_TOKEN_MAX_SOCKETS,
      ttlSeconds: DEMO_TOKEN_TTL_S,
      audience: o.audience,
      issuer: o.issuer,
      keyId: 'keyId' in o ? o.keyId : DEMO_KEY_ID,
      subject: randomBytes(6).toString('hex'),
    });
    demoPage(res, { router: o.router ?? '', token, target: o.target });
  });
  r.get('/favicon.ico', (_req, res) => {
    res.setHeader('Content-Type', 'image/svg+xml');
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.end(FAVICON);
  });
  return r;
}

function demoPage(res: Response, o: { router: string; token: string; target: string }): void {
  const cfg = scriptSafeJson({ router: o.router || undefined, token: o.token, force: true });
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!doctype html>
<html><head><meta charset="utf-8"><title>polysocket demo</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<style>body{font:15px system-ui,sans-serif;margin:2em;max-width:46em}
#log{background:#f4f4f4;padding:1em;min-height:8em;white-space:pre-wrap}.bad{color:#b00}</style>
</head><body>
<h1>polysocket</h1>
<p>This page reaches the echo server <code>${o.target}</code> through polysocket's long-polling path
(the native WebSocket is bypassed on purpose).</p>
<form id="f"><input id="msg" value="hello" autofocus> <button id="send">send</button></form>
<pre id="log"></pre>
<script>window.POLYSOCKET_CONFIG = ${cfg};</script>
<script src="${o.router}/polysocket.js"></script>
<script>
var log = document.getElementById('log');
function say(s, bad) {
  var line = document.createElement('span');
  if (bad) line.className = 'bad';
  line.appendChild(document.createTextNode(s + '\\n'));
  log.appendChild(line);
}
var ws = new PolySocket(${scriptSafeJson(o.target)});
ws.onopen = function () { say('open (via ' + ws.transport + ')'); };
ws.onmessage = function (e) { say('echo: ' + e.data); };
ws.onclose = function (e) {
  document.getElementById('send').disabled = true;
  if (ws.errorCode) say('failed: ' + ws.errorCode + ' (see docs/CLIENT.md); reload the page to try again', true);
  else say('closed ' + e.code + ' ' + e.reason);
};
document.getElementById('f').onsubmit = function () {
  var m = document.getElementById('msg').value;
  if (ws.readyState !== 1) { say('not open: nothing sent', true); return false; }
  ws.send(m); say('sent: ' + m); return false;
};
</script>
</body></html>`);
}

export interface DemoServerOptions {
  port: number;
  bind: string;
  /** the operator's TOKEN_SECRET: the routers verify the page's tokens with it */
  secret: string;
  /** the router's URL as a browser reaches it */
  router: string;
  /** the echo's URL as the relays reach it (this server, at that path) */
  target: string;
  /** /healthz for the image's HEALTHCHECK, as every role has */
  adminPort: number;
  adminBind: string;
}

/**
 * `polysocket demo`: the demo page and its echo on a server of their own, for a split deployment
 * (docker compose): the page talks to the echo through the routers and relays.
 */
export async function startDemoServer(o: DemoServerOptions): Promise<{ server: http.Server; port: number; adminPort: number }> {
  const app = express();
  app.disable('x-powered-by');
  const server = createServer({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, maxConnectionsPerIp: 0 });
  const port = await listen(server, o.port, o.bind);
  app.use(demoRoutes({ key: o.secret, keyId: undefined, target: o.target, port, network: true, router: o.router }));
  server.on('request', app);
  attachEchoTarget(server, new URL(o.target).pathname);
  const admin = createServer({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, maxConnectionsPerIp: 0 });
  admin.on('request', (req, res) => {
    const known = req.url === '/healthz' || req.url === '/readyz';
    res.writeHead(known ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(known ? '{"ok":true}' : '{"ok":false,"error":"not_found"}');
  });
  const adminPort = await listen(admin, o.adminPort, o.adminBind);
  server.on('close', () => admin.close());
  return { server, port, adminPort };
}
