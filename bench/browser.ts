import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { polysocket, server, stop } from '../test/harness/processes';
import { type EngineName, type EnginePage, launchEngine } from '../test/helpers/engines';
import { withTimeout } from '../shared/timeout';
import { startBenchPages } from './page-server';
import { percentile } from './stats';

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
/** bursts per row, the median reported */
const BURST_ROUNDS = 5;
const PAYLOAD = 'x'.repeat(64);
/** the longest one step in a page may take (a load, an open, a round of echoes, a burst) */
const STEP_MS = 60_000;

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
    // n echoes one after another, each timed: one driver call per round, whichever engine's driver
    this.echoes = function (n, data) {
      var times = [];
      function next() { return times.length === n ? times : window.bench.echo(data).then(function (t) { times.push(t); return next(); }); }
      return next();
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

/**
 * The floors' server: POST /poll/send answers the held GET /poll/recv (or queues), POST
 * /stream/send writes a line into the open GET /stream/recv. One page per mode, CORS simple requests.
 */
function floorServer(): http.Server {
  let held: http.ServerResponse | undefined;
  let queued: string[] = [];
  let stream: http.ServerResponse | undefined;
  return http.createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', 'no-store');
    // a body without a type is parsed as XML by Firefox's XHR, which then logs an error per answer
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (req.url === '/poll/recv') {
      if (queued.length) res.end(JSON.stringify(queued));
      else held = res;
      queued = [];
      return;
    }
    if (req.url === '/stream/recv') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      // a first byte, an empty line the page skips: Firefox resolves fetch() only once the body has begun
      res.write('\n');
      stream = res;
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      res.end('ok');
      if (req.url === '/stream/send') stream?.write(`${body}\n`);
      else if (held) {
        held.end(JSON.stringify([body]));
        held = undefined;
      } else queued.push(body);
    });
  });
}

/** Page side of the floors: XHR sends, and a receive by long-poll or by one streamed fetch. */
const floorOpener = (base: string, mode: 'poll' | 'stream') =>
  `function (m) { return new Promise(function (r) {
    function send(d) { var x = new XMLHttpRequest(); x.open('POST', ${JSON.stringify(base)} + '/${mode}/send'); x.send(d); }
    ${
      mode === 'poll'
        ? `(function poll() { var x = new XMLHttpRequest(); x.open('GET', ${JSON.stringify(base)} + '/poll/recv');
             x.onload = function () { JSON.parse(x.responseText).forEach(function (d) { m({ data: d }); }); poll(); }; x.send(); })();
           r(send);`
        : `fetch(${JSON.stringify(base)} + '/stream/recv').then(function (res) {
             var rd = res.body.getReader(), dec = new TextDecoder(), buf = '';
             (function pump() { rd.read().then(function (c) { if (c.done) return; buf += dec.decode(c.value, { stream: true });
               for (var i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) if (i > 0) m({ data: buf.slice(0, i) }); pump(); }); })();
             r(send); });`
    } }); }`;

/** The engine a row set was measured in, and its rows. */
export interface EngineRows {
  engine: EngineName;
  /** the browser's product and version, e.g. "Firefox 140.5.0esr" */
  version: string;
  rows: BrowserRow[];
}

/** Every row in one engine, beside its own native WebSocket and the peers, in one run. */
export async function browserRows(engineName: EngineName): Promise<EngineRows> {
  const upstream = await server('upstream');
  const floor = floorServer();
  await new Promise<void>((r) => floor.listen(0, '127.0.0.1', r));
  const floorBase = `http://127.0.0.1:${(floor.address() as AddressInfo).port}`;
  const aio = await polysocket('start', {});
  const sockjs = await server('sockjs');
  const sio = await server('socketio');
  // /p<i>.html: the kit, row i's scripts, and its opener started (subjects are defined below)
  const pages = await startBenchPages((url) => {
    const subject = subjects[Number(/^\/p(\d+)\.html$/.exec(url.pathname)?.[1])];
    const scripts = subject ? subject[1].map((src) => `<script src="${src}"></script>`).join('') : '';
    const init = subject ? `<script>window.bench.init(${subject[2]});</script>` : '';
    return `<!doctype html><html><head><meta charset="utf-8"></head><body><script>${KIT}</script>${scripts}${init}</body></html>`;
  });
  const origin = pages.origin;
  const router = `http://localhost:${aio.port}`;
  const target = `ws://127.0.0.1:${upstream.port}/`;
  const engine = await launchEngine(engineName);

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
    ['floor: bare server, XHR long-poll receive', [], floorOpener(floorBase, 'poll')],
    ['floor: bare server, fetch-streamed receive', [], floorOpener(floorBase, 'stream')],
  ];

  const rows: BrowserRow[] = subjects.map(([name]) => ({ name }));
  const open: (EnginePage | undefined)[] = [];
  // every step in the page is bounded: a row that hangs is reported as an error, the run goes on
  const bounded = <T>(p: Promise<T>, what: string) => withTimeout(p, STEP_MS, () => new Error(`${what}: no answer within ${STEP_MS} ms`));
  const echoes = (page: EnginePage, n: number) =>
    bounded(
      page.evaluate(([k, d]) => (window as any).bench.echoes(k, d) as Promise<number[]>, [n, PAYLOAD] as const),
      'echoes',
    );
  try {
    for (let i = 0; i < subjects.length; i++) {
      process.stderr.write(`    ${subjects[i][0]}\n`);
      const page = await engine.newPage();
      try {
        await bounded(page.goto(`${origin}/p${i}.html`), 'load');
        await bounded(
          page.evaluate(() => (window as any).bench.ready.then(() => true)),
          'open',
        );
        await echoes(page, WARM);
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
        if (!page || rows[i].error) continue;
        try {
          times[i].push(...(await echoes(page, PER_ROUND)));
        } catch (err) {
          rows[i].error = `echo: ${(err as Error).message.split('\n')[0]}`;
        }
      }
    }
    const bursts: number[][] = subjects.map(() => []);
    // Round-robin like the echoes, each round starting one row later: a row never always follows
    // the same neighbour (native's burst leaves the browser busy for the row after it).
    for (let round = 0; round < BURST_ROUNDS; round++) {
      for (let j = 0; j < subjects.length; j++) {
        const i = (j + round) % subjects.length;
        const page = open[i];
        if (!page || rows[i].error) continue;
        try {
          const burst = page.evaluate(([n, d]) => (window as any).bench.burst(n, d) as Promise<number>, [BURST, PAYLOAD] as const);
          bursts[i].push(await bounded(burst, 'burst'));
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
    await engine.close();
    pages.close();
    floor.close();
    floor.closeAllConnections();
    [upstream, aio, sockjs, sio].forEach(stop);
  }
  return { engine: engineName, version: engine.version, rows };
}
