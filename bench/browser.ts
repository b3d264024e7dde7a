/**
 * Latency as a page meets it: echoes and a burst measured inside Debian's Chromium (through
 * playwright-core, as the tests drive it), for the native WebSocket, polysocket.js (CORS sends, and
 * JSONP only), socket.io-client over polling and sockjs-client over xhr-polling and xhr-streaming.
 * Every row's page is open at once and the echoes are taken round-robin, like the Node rows.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/helpers/browser';
import { polysocket, ROOT, server, stop } from '../test/harness/processes';

export interface BrowserRow {
  name: string;
  echoP50Ms?: number;
  echoP90Ms?: number;
  echoP99Ms?: number;
  /** 1,000 messages sent at once: ms until every echo is back (median of three) */
  burstMs?: number;
  error?: string;
}

const ROUNDS = 5;
const PER_ROUND = 40;
const WARM = 20;
const BURST = 1000;
const PAYLOAD = 'x'.repeat(64);

/** The page side: connect with `open`, then `bench.echo()` and `bench.burst(n)` time themselves. */
const KIT = `
window.bench = {
  ready: null,
  init: function (open) {
    var waiting = [];
    var got = 0, want = 0, done = null;
    this.ready = open(function onMessage() {
      if (want) { if (++got === want) { want = 0; done(); } return; }
      var w = waiting.shift(); if (w) w();
    }).then(function (send) { window.bench.send = send; });
    this.echo = function (data) {
      var t = performance.now();
      return new Promise(function (r) { waiting.push(function () { r(performance.now() - t); }); window.bench.send(data); });
    };
    this.burst = function (n, data) {
      var t = performance.now();
      return new Promise(function (r) {
        got = 0; want = n; done = function () { r(performance.now() - t); };
        for (var i = 0; i < n; i++) window.bench.send(data);
      });
    };
  }
};`;

const LIBS: Record<string, string> = {
  'socket.io': 'socket.io-client/dist/socket.io.min.js',
  sockjs: 'sockjs-client/dist/sockjs.min.js',
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

export async function browserRows(): Promise<BrowserRow[]> {
  const upstream = await server('upstream');
  const aio = await polysocket('start', {});
  const sockjs = await server('sockjs');
  const sio = await server('socketio');
  const pages = http.createServer((req, res) => {
    const lib = /^\/lib\/(.+)\.js$/.exec(req.url ?? '');
    if (lib && Object.hasOwn(LIBS, lib[1])) {
      res.setHeader('Content-Type', 'application/javascript');
      res.end(readFileSync(path.join(ROOT, 'node_modules', LIBS[lib[1]])));
      return;
    }
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html><head><meta charset="utf-8"></head><body><script>${KIT}</script></body></html>`);
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  const origin = `http://localhost:${(pages.address() as AddressInfo).port}`;
  const router = `http://localhost:${aio.port}`;
  const target = `ws://127.0.0.1:${upstream.port}/`;
  const browser = await launchChromium();

  /** name → [scripts to load, the page-side `open(onMessage)` returning a promise of send] */
  const js = JSON.stringify;
  /** Each opener connects, calls `m` per message and resolves, once open, with its send function. */
  const opener = (connect: string, onMessage: string, onOpen: (fn: string) => string, send: string) =>
    `function (m) { return new Promise(function (r) { ${connect} ${onMessage} ` +
    `${onOpen(`function () { r(function (d) { ${send} }); }`)}; }); }`;
  const property = (name: string) => (fn: string) => `${name} = ${fn}`;
  const subjects: [string, string[], string][] = [
    ['native WebSocket', [], opener(`var ws = new WebSocket(${js(target)});`, 'ws.onmessage = m;', property('ws.onopen'), 'ws.send(d);')],
    ...(['CORS sends', 'JSONP only'] as const).map((how): [string, string[], string] => [
      `polysocket.js (${how})`,
      [`${router}/polysocket.js`],
      opener(
        `PolySocket.configure({ router: ${js(router)}, force: true, forceJsonp: ${how === 'JSONP only'} });` +
          ` var ws = new PolySocket(${js(target)}, undefined, { force: true });`,
        'ws.onmessage = m;',
        property('ws.onopen'),
        'ws.send(d);',
      ),
    ]),
    [
      'socket.io-client (polling)',
      [`${origin}/lib/socket.io.js`],
      opener(
        `var s = io(${js(`http://127.0.0.1:${sio.port}`)}, { transports: ['polling'] });`,
        "s.on('echo', m);",
        (fn) => `s.on('connect', ${fn})`,
        "s.emit('echo', d);",
      ),
    ],
    ...(['xhr-polling', 'xhr-streaming'] as const).map((t): [string, string[], string] => [
      `sockjs-client (${t})`,
      [`${origin}/lib/sockjs.js`],
      opener(
        `var s = new SockJS(${js(`http://127.0.0.1:${sockjs.port}/echo`)}, null, { transports: [${js(t)}] });`,
        's.onmessage = m;',
        property('s.onopen'),
        's.send(d);',
      ),
    ]),
  ];

  const rows: BrowserRow[] = subjects.map(([name]) => ({ name }));
  const open: (Page | undefined)[] = [];
  try {
    for (const [i, [, scripts, opener]] of subjects.entries()) {
      const page = await browser.newPage();
      try {
        await page.goto(`${origin}/p${i}.html`);
        for (const src of scripts) await page.addScriptTag({ url: src });
        await page.evaluate(`window.bench.init(${opener}); window.bench.ready`);
        for (let k = 0; k < WARM; k++) await page.evaluate((d) => (window as any).bench.echo(d), PAYLOAD);
        open.push(page);
      } catch (err) {
        rows[i].error = (err as Error).message.split('\n')[0];
        open.push(undefined);
        await page.close();
      }
    }
    const times: number[][] = subjects.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let j = 0; j < subjects.length; j++) {
        const i = (j + round) % subjects.length;
        const page = open[i];
        if (!page) continue;
        for (let k = 0; k < PER_ROUND; k++) times[i].push(await page.evaluate((d) => (window as any).bench.echo(d), PAYLOAD));
      }
    }
    const bursts: number[][] = subjects.map(() => []);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < subjects.length; i++) {
        const page = open[i];
        if (!page || rows[i].error) continue;
        try {
          bursts[i].push(await page.evaluate(([n, d]) => (window as any).bench.burst(n, d), [BURST, PAYLOAD] as const));
        } catch (err) {
          rows[i].error = `burst: ${(err as Error).message.split('\n')[0]}`;
        }
      }
    }
    for (let i = 0; i < subjects.length; i++) {
      const t = times[i].sort((a, b) => a - b);
      if (t.length) Object.assign(rows[i], { echoP50Ms: percentile(t, 50), echoP90Ms: percentile(t, 90), echoP99Ms: percentile(t, 99) });
      const b = bursts[i].sort((a, b) => a - b);
      if (b.length) rows[i].burstMs = b[Math.floor(b.length / 2)];
    }
  } finally {
    await browser.close();
    pages.close();
    [upstream, aio, sockjs, sio].forEach(stop);
  }
  return rows;
}
