/**
 * Issue #25, far from the relay (BENCH_ONLY=farlink): a browser through squid (CONNECT allowed,
 * no cache; Debian's Chromium in the full run, POLYSOCKET_ENGINES for Firefox and WebKit) with
 * the delay shim between browser and proxy, on round trips of 0, 100 and
 * 300 ms. Per row: open time, push latency (the server sends a timestamped 64-byte message every
 * 20 ms; the page subtracts the stamp from its own clock, the same machine's), msgs/s of a burst
 * (2,000 pushed at once, first to last arrival) and echo round trips. Rows are taken round-robin,
 * a fresh page each round, as the other browser rows.
 */
import { polysocket, server, stop } from '../test/harness/processes';
import { type Engine, type EngineName, launchEngine } from '../test/helpers/engines';
import { type DelayShim, startDelayShim } from '../test/helpers/delay-shim';
import { startSquid } from '../test/helpers/proxies';
import { startBenchPages } from './page-server';
import { withTimeout } from '../shared/timeout';
import { percentile } from './stats';

export interface FarRow {
  name: string;
  rttMs: number;
  opens: number[];
  pushes: number[];
  rates: number[];
  echoes: number[];
  /** how the page received, as it said (polysocket's `receive`, the peers' transport) */
  on?: string;
  error?: string;
}

const ROUNDS = Number(process.env.BENCH_FAR_ROUNDS ?? 2);
const PUSH_MS = 20;
const PUSH_COUNT = Number(process.env.BENCH_FAR_PUSHES ?? 250); // 5 s a round
const BURST = 2000;
const ECHOES = 8;
const RTTS = (process.env.BENCH_FAR_RTTS ?? '0,100,300').split(',').map(Number);

/**
 * The page side. `open(onData)` connects and resolves with [send, what it is on]; each figure is a
 * method of `far` that times itself. Messages: `T<stamp>` pushes, `p<k>` a burst, the rest echoes.
 */
const KIT = `<script>
var ECHO = new Array(65).join('e');
window.far = {
  start: function (open) {
    var far = this, t0 = performance.now();
    var echoWaiter = null, pushWant = 0, pushes = [], pushDone = null;
    var burstWant = 0, burstGot = 0, burstFirst = 0, burstDone = null;
    function onData(d) {
      var now = performance.timeOrigin + performance.now();
      if (d.charAt(0) === 'T') {
        pushes.push(now - Number(d.slice(1)));
        if (pushes.length === pushWant && pushDone) pushDone(pushes);
      } else if (d.charAt(0) === 'p' && burstWant) {
        if (++burstGot === 1) burstFirst = now;
        if (burstGot === burstWant) { burstWant = 0; burstDone(burstGot > 1 ? (burstGot - 1) * 1000 / (now - burstFirst) : 0); }
      } else if (echoWaiter) { var w = echoWaiter; echoWaiter = null; w(); }
    }
    far._echo = function (w) { echoWaiter = w; };
    far._push = function (n, r) { pushes = []; pushWant = n; pushDone = r; };
    far._burst = function (n, r) { burstGot = 0; burstWant = n; burstDone = r; };
    return open(onData).then(function (r) {
      far.send = r[0];
      far.on = r[1];
      return [performance.now() - t0, r[1]];
    });
  },
  echo: function () {
    var far = this, t = performance.now();
    return new Promise(function (r) { far._echo(function () { r(performance.now() - t); }); far.send(ECHO); });
  },
  push: function (count, every) {
    var far = this;
    return new Promise(function (r) { far._push(count, r); far.send('tick:' + count + ':' + every); });
  },
  burst: function (n) {
    var far = this;
    return new Promise(function (r) { far._burst(n, r); far.send('push:' + n); });
  }
};
</script>`;

/** The far-link rows in one engine; `version`: the browser's product and version. */
export async function farLinkRows(engineName: EngineName = 'chromium'): Promise<{ version: string; rows: FarRow[] }> {
  const upstream = await server('upstream');
  const aio = await polysocket('start', { SUBDOMAINS: 'false' });
  const sockjs = await server('sockjs');
  const sio = await server('socketio', { SOCKETIO_TRANSPORTS: 'polling' });
  const pages = await startBenchPages(
    (u) => `<!doctype html><html><head><meta charset="utf-8"></head><body>${u.searchParams.get('head') ?? ''}${KIT}</body></html>`,
  );
  const origin = pages.origin;
  const router = `http://localhost:${aio.port}`;
  const target = `ws://127.0.0.1:${upstream.port}/`;
  const js = JSON.stringify;
  const script = (src: string) => `<script src="${src}"></script>`;
  /** an opener: `construct` makes `s`, `onMessage` wires it to `m`, `opened(fn)` calls fn once open */
  const opener = (construct: string, onMessage: string, opened: string, send: string, on: string) =>
    `function (m) { return new Promise(function (r) { ${construct} ${onMessage}
      ${opened.replace('FN', `function () { r([function (d) { ${send} }, ${on}]); }`)}; }); }`;
  const poly = (stream: boolean) =>
    opener(
      `PolySocket.configure({ router: ${js(router)}, stream: ${stream} });` +
        ` var s = new PolySocket(${js(target)}, undefined, { force: true });`,
      's.onmessage = function (e) { m(e.data); };',
      's.onopen = FN',
      's.send(d);',
      's.receive',
    );
  const subjects: { name: string; head: string; open: string }[] = [
    {
      name: 'native WebSocket',
      head: '',
      open: opener(
        `var s = new WebSocket(${js(target)});`,
        's.onmessage = function (e) { m(e.data); };',
        's.onopen = FN',
        's.send(d);',
        "'websocket'",
      ),
    },
    { name: 'polysocket.js, streamed receive', head: script(`${router}/polysocket.js`), open: poly(true) },
    {
      // a browser without fetch streams reads the stream by XHR progress, which Chromium throttles
      name: 'polysocket.js, streamed receive by XHR (no fetch)',
      head: `<script>delete window.fetch;</script>${script(`${router}/polysocket.js`)}`,
      open: poly(true),
    },
    { name: 'polysocket.js, long-polling (stream: false)', head: script(`${router}/polysocket.js`), open: poly(false) },
    {
      name: 'socket.io-client, polling',
      head: script(`${origin}/lib/socket.io.js`),
      open: opener(
        `var s = io(${js(`http://127.0.0.1:${sio.port}`)}, { transports: ['polling'] });`,
        "s.on('echo', m);",
        "s.on('connect', FN)",
        "s.emit('echo', d);",
        's.io.engine.transport.name',
      ),
    },
    {
      name: 'sockjs-client, xhr-streaming',
      head: script(`${origin}/lib/sockjs.js`),
      open: opener(
        `var s = new SockJS(${js(`http://127.0.0.1:${sockjs.port}/echo`)}, null, { transports: ['xhr-streaming'] });`,
        's.onmessage = function (e) { m(e.data); };',
        's.onopen = FN',
        's.send(d);',
        's.transport',
      ),
    },
  ];

  const squid = await startSquid({ connect: 'any' });
  const shims: DelayShim[] = [];
  const browsers: Engine[] = [];
  const rows: FarRow[] = [];
  try {
    const links: { rttMs: number; browser: Engine }[] = [];
    for (const rttMs of RTTS) {
      const shim = await startDelayShim(squid.port, rttMs / 2);
      shims.push(shim);
      const browser = await launchEngine(engineName, { proxy: shim.url });
      browsers.push(browser);
      links.push({ rttMs, browser });
    }
    const cases = links.flatMap((l) => subjects.map((s) => ({ ...l, ...s })));
    for (const c of cases) rows.push({ name: c.name, rttMs: c.rttMs, opens: [], pushes: [], rates: [], echoes: [] });
    for (let round = 0; round < ROUNDS; round++) {
      for (let j = 0; j < cases.length; j++) {
        // each round starts one case later: drift on the machine falls on every row alike
        const i = (j + round) % cases.length;
        const c = cases[i];
        const row = rows[i];
        if (row.error) continue;
        // a page of its own (in Chromium and Firefox a fresh context; WebKit's tabs share their storage)
        const page = await c.browser.newPage();
        process.stderr.write(`far link: ${c.name}, ${c.rttMs} ms, round ${round + 1}\n`);
        // every step bounded: a row that stalls is reported as such, not waited for
        const step = <T>(what: string, p: Promise<T>) => withTimeout(p, 60_000, () => new Error(`${what}: no answer within 60 s`));
        try {
          await step('load', page.goto(`${origin}/f.html?head=${encodeURIComponent(c.head)}`));
          const start = (open: string) => new Function(`return window.far.start(${open});`)() as Promise<[number, string]>;
          const opened = await step('open', page.evaluate(start, c.open));
          row.opens.push(opened[0]);
          // settle on the path (a stream open, a poll held) before anything is timed
          const echo = () =>
            step(
              'echo',
              page.evaluate(() => (window as any).far.echo()),
            );
          for (let k = 0; k < 2; k++) await echo();
          for (let k = 0; k < ECHOES; k++) row.echoes.push((await echo()) as number);
          const pushed = page.evaluate(([n, every]) => (window as any).far.push(n, every), [PUSH_COUNT, PUSH_MS] as const);
          row.pushes.push(...((await step('push', pushed)) as number[]));
          row.rates.push(
            (await step(
              'burst',
              page.evaluate((n) => (window as any).far.burst(n), BURST),
            )) as number,
          );
          row.on = String(await page.evaluate(() => (window as any).far.on));
        } catch (err) {
          row.error = (err as Error).message.split('\n')[0];
        } finally {
          await page.close();
        }
      }
    }
    return { version: browsers[0]?.version ?? engineName, rows };
  } finally {
    for (const b of browsers) await b.close();
    for (const s of shims) await s.close();
    await squid.close();
    pages.close();
    [upstream, aio, sockjs, sio].forEach(stop);
  }
}

const FAR_COLUMNS = ['push p50 ms', 'push p99 ms', 'p50 / p99 vs native', 'msgs/s (burst)', 'echo p50 ms', 'open p50 ms', 'on', 'pushes'];

export function farLinkTable({ version, rows }: { version: string; rows: FarRow[] }): string[] {
  const fmt = (n: number | undefined, digits = 0) =>
    n === undefined || !Number.isFinite(n)
      ? '—'
      : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const p = (v: number[], q: number) =>
    v.length
      ? percentile(
          v.slice().sort((a, b) => a - b),
          q,
        )
      : undefined;
  const native = new Map(rows.filter((r) => r.name === 'native WebSocket').map((r) => [r.rttMs, r]));
  const ratio = (r: FarRow, q: number) => {
    const n = native.get(r.rttMs);
    const mine = p(r.pushes, q);
    const theirs = n ? p(n.pushes, q) : undefined;
    return mine === undefined || theirs === undefined ? '—' : `${(mine / theirs).toFixed(2)}x`;
  };
  return [
    `| far link: ${version} → delay shim → squid | round trip ms | ${FAR_COLUMNS.join(' | ')} |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.rttMs} | ${fmt(p(r.pushes, 50), 1)} | ${fmt(p(r.pushes, 99), 1)} | ${ratio(r, 50)} / ${ratio(r, 99)} | ${fmt(
          p(r.rates, 50),
        )} | ${fmt(p(r.echoes, 50), 1)} | ${fmt(p(r.opens, 50))} | ${r.error ? `error: ${r.error}` : (r.on ?? '—')} | ${r.pushes.length} |`,
    ),
  ];
}
