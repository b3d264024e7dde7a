import type { Browser } from 'playwright-core';
import { polysocket, server, stop } from '../test/harness/processes';
import { launchChromium } from '../test/helpers/browser';
import { startDelayShim, type DelayShim } from '../test/helpers/delay-shim';
import { type ForwardProxy, startSquid, startTestProxy } from '../test/helpers/proxies';
import { startBenchPages } from './page-server';
import { percentile } from './stats';

export interface OpenRow {
  name: string;
  rttMs: number;
  opens: number[];
  /** what the socket ended up on, as the page saw it */
  transport?: string;
  error?: string;
}

const ROUNDS = Number(process.env.BENCH_OPEN_ROUNDS ?? 7);

export async function proxyOpenRows(): Promise<OpenRow[]> {
  const upstream = await server('upstream');
  const aio = await polysocket('start', { SUBDOMAINS: 'false' });
  const sockjs = await server('sockjs');
  const sio = await server('socketio', { SOCKETIO_TRANSPORTS: 'polling,websocket' });
  const pages = await startBenchPages(
    (u) => `<!doctype html><html><head><meta charset="utf-8"></head><body>${u.searchParams.get('head') ?? ''}</body></html>`,
  );
  const origin = pages.origin;
  const router = `http://localhost:${aio.port}`;
  const target = `ws://127.0.0.1:${upstream.port}/`;
  const js = JSON.stringify;
  const script = (src: string, attrs = '') => `<script src="${src}"${attrs}></script>`;
  const poly = (attrs = '') => script(`${router}/polysocket.js`, ` data-router="${router}"${attrs}`);
  /** page-side: resolves with [ms from constructor to open, transport] */
  const opening = (construct: string) => `new Promise(function (r, x) { var t = performance.now(); var ws = ${construct};
    ws.onopen = function () { r([performance.now() - t, ws.transport || 'native']); ws.close(); };
    ws.onclose = function (e) { x(new Error('closed ' + e.code)); }; })`;
  const openWs = opening(`new WebSocket(${js(target)})`);
  const openForced = opening(`new PolySocket(${js(target)}, undefined, { force: true })`);
  const openSio = `new Promise(function (r) { var t = performance.now(); var s = io(${js(`http://127.0.0.1:${sio.port}`)});
    s.on('connect', function () { r([performance.now() - t, s.io.engine.transport.name]); s.close(); }); })`;
  const sockjsUrl = js(`http://127.0.0.1:${sockjs.port}/echo`);
  const openSockjs = `new Promise(function (r) { var t = performance.now(); var s = new SockJS(${sockjsUrl});
    s.onopen = function () { r([performance.now() - t, s.transport]); s.close(); }; })`;

  const squidAny = await startSquid({ connect: 'any' });
  const squidDefault = await startSquid({ connect: 'ssl-ports' });
  const holding = await startTestProxy({ onConnect: 'hold' });
  const shims: DelayShim[] = [];
  const browsers: Browser[] = [];
  const via = async (proxy: ForwardProxy, rttMs: number) => {
    const shim = await startDelayShim(proxy.port, rttMs / 2);
    shims.push(shim);
    const browser = await launchChromium({ proxy: shim.url });
    browsers.push(browser);
    return browser;
  };
  /** `warm`: a first page of the same context opens a socket first (connections to the proxy are warm) */
  type Subject = { name: string; rttMs: number; browser: Browser; head: string; open: string; warm?: string };
  const subjects: Subject[] = [];
  try {
    const any100 = await via(squidAny, 100);
    const def100 = await via(squidDefault, 100);
    const hold100 = await via(holding, 100);
    const any300 = await via(squidAny, 300);
    subjects.push(
      { name: 'native WebSocket, CONNECT allowed (no polysocket.js)', rttMs: 100, browser: any100, head: '', open: openWs },
      { name: 'polysocket.js fallback mode, CONNECT allowed (native)', rttMs: 100, browser: any100, head: poly(), open: openWs },
      { name: "fallback, squid's default (CONNECT refused)", rttMs: 100, browser: def100, head: poly(), open: openWs },
      { name: 'fallback, CONNECT held silent (fallbackAfter 3000)', rttMs: 100, browser: hold100, head: poly(), open: openWs },
      { name: 'fallback remembered (a later page load)', rttMs: 100, browser: def100, head: poly(), open: openWs, warm: openWs },
      // measured as the remembered row is, after a first page: the same warm connections
      {
        name: 'forced tunnel (force: true), a later page load',
        rttMs: 100,
        browser: def100,
        head: poly(),
        open: openForced,
        warm: openForced,
      },
      {
        name: 'socket.io-client, default transports',
        rttMs: 100,
        browser: def100,
        head: script(`${origin}/lib/socket.io.js`),
        open: openSio,
      },
      { name: 'sockjs-client, default transports', rttMs: 100, browser: def100, head: script(`${origin}/lib/sockjs.js`), open: openSockjs },
      { name: 'native WebSocket, CONNECT allowed (no polysocket.js)', rttMs: 300, browser: any300, head: '', open: openWs },
      { name: 'polysocket.js fallback mode, CONNECT allowed (native)', rttMs: 300, browser: any300, head: poly(), open: openWs },
    );
    const rows: OpenRow[] = subjects.map((s) => ({ name: s.name, rttMs: s.rttMs, opens: [] }));
    // round-robin, as the other browser rows: drift on the machine falls on every row alike
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, s] of subjects.entries()) {
        if (rows[i].error) continue;
        // a fresh context each time (nothing remembered); a warmed row opens a first page's
        // socket (the remembered row: its fallback), then measures a later page of that context
        const context = await s.browser.newContext();
        try {
          const url = `${origin}/o.html?head=${encodeURIComponent(s.head)}`;
          if (s.warm) {
            const first = await context.newPage();
            await first.goto(url);
            await first.evaluate(s.warm);
          }
          const page = await context.newPage();
          await page.goto(url);
          const [ms, transport] = (await page.evaluate(s.open)) as [number, string];
          rows[i].opens.push(ms);
          rows[i].transport = transport;
        } catch (err) {
          rows[i].error = (err as Error).message.split('\n')[0];
        } finally {
          await context.close();
        }
      }
    }
    return rows;
  } finally {
    for (const b of browsers) await b.close();
    for (const s of shims) await s.close();
    await Promise.all([squidAny.close(), squidDefault.close(), holding.close()]);
    pages.close();
    [upstream, aio, sockjs, sio].forEach(stop);
  }
}

export function proxyOpenTable(rows: OpenRow[]): string[] {
  const fmt = (n: number | undefined) => (n === undefined ? '—' : n.toFixed(0));
  return [
    `| behind a proxy, delay shim in front (Chromium) | round trip ms | open p50 ms | min | max | on | rounds |`,
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const t = r.opens.slice().sort((a, b) => a - b);
      return `| ${r.name} | ${r.rttMs} | ${fmt(t.length ? percentile(t, 50) : undefined)} | ${fmt(t[0])} | ${fmt(t.at(-1))} | ${
        r.error ? `error: ${r.error}` : (r.transport ?? '—')
      } | ${t.length} |`;
    }),
  ];
}
