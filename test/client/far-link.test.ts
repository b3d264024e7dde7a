/**
 * Issue #25, far from the relay: polysocket.js receives over a stream (docs/PROTOCOL.md §3.4)
 * where the browser can read one, in each engine (test/helpers/engines: Chromium, Firefox, WebKit;
 * all three by default; POLYSOCKET_ENGINES to choose) through the real router and relay. Messages
 * pushed while streams end and reopen arrive once and in order; behind a proxy that releases only
 * whole responses the socket falls back to long-polling and still delivers; a page of the IE 6/7
 * class (no WebSocket, an XMLHttpRequest without CORS, no XDomainRequest) and a JSONP-only page
 * long-poll. Speed is measured in the bench (bench/far-link.ts), never here.
 */
import { type PageServer, startPageServer } from '../helpers/browser';
import { ALL_ENGINES, type Engine, type EnginePage, enginesToRun, launchEngine, openPage } from '../helpers/engines';
import { type ForwardProxy, startTestProxy } from '../helpers/proxies';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { until } from '../harness/until';

let up: Upstream;
// streams end every 400 ms (their lifetime) and past 4 KB written (a quarter of the bound)
let svc: Awaited<ReturnType<typeof allInOne>>;

/** In the page: open a socket, keep what it receives, wait for a count. */
const KIT = `<script>
window.kit = {
  open: function (url) {
    return new Promise(function (resolve, reject) {
      var ws = new WebSocket(url);
      ws.got = [];
      ws.onmessage = function (e) { ws.got.push(e.data); };
      ws.closed = new Promise(function (r) { ws.addEventListener('close', function (e) { r(e.code); }); });
      ws.onopen = function () { resolve(ws); };
      ws.onerror = function () { reject(new Error('error before open')); };
    });
  },
  until: function (ws, count) {
    return new Promise(function (resolve) {
      (function check() { if (ws.got.length >= count) resolve(ws.got.length); else setTimeout(check, 10); })();
    });
  }
};
</script>`;

function pageHtml(base: string, o: { before?: string; config?: Record<string, unknown> } = {}): string {
  return `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>delete window.WebSocket; ${o.before ?? ''}</script>
${o.config ? `<script>window.POLYSOCKET_CONFIG = ${JSON.stringify(o.config)};</script>` : ''}
<script src="${base}/polysocket.js" data-router="${base}"></script>
${KIT}
</body></html>`;
}

beforeAll(async () => {
  up = await startUpstream();
  svc = await allInOne({ POLL_MAX_TTL_MS: '400', MAX_BUFFERED_BYTES: '16384', SUBDOMAINS: 'false' });
}, 60_000);

afterAll(async () => {
  await Promise.all([svc?.close(), up?.close()]);
});

/** No socket of an earlier test still receives: the relay-wide stream count is this test's own. */
async function relayQuiet(): Promise<void> {
  await until(() => svc.relay!.snapshot().streamsOpen === 0, 30_000, 'no stream open');
}

describe.each(enginesToRun(ALL_ENGINES))('%s', (name) => {
  let engine: Engine;
  let pages: PageServer;

  beforeAll(async () => {
    engine = await launchEngine(name);
    pages = await startPageServer({ prelude: engine.prelude });
  }, 60_000);

  afterAll(async () => {
    await engine?.close();
    await pages?.close();
  });

  function open(e: Engine, html: string): Promise<EnginePage> {
    return openPage(e, pages.serve(html));
  }

  test('a current browser receives over the stream: receive is "stream", the relay holds a stream for the socket', async () => {
    const page = await open(engine, pageHtml(svc.base));
    try {
      const r = await page.evaluate(async (url) => {
        const ws = await (window as any).kit.open(url);
        ws.send('hello');
        await (window as any).kit.until(ws, 1);
        return { got: ws.got, receive: ws.receive, sid: ws._sid };
      }, up.url);
      expect(r.got).toEqual(['hello']);
      expect(r.receive).toBe('stream');
      await until(() => svc.relay!.get(r.sid)?.streaming === true, 30_000, 'the relay holds a stream');
    } finally {
      await page.close();
    }
  });

  // fetch with a body reader where the browser has one; CORS XMLHttpRequest's progress where it has not
  const READERS: [string, string][] = [
    ['fetch', ''],
    ['XMLHttpRequest', 'delete window.fetch;'],
  ];

  test.each(READERS)(
    'messages pushed while streams end and reopen (lifetime, bytes bound) arrive once each, in order (%s)',
    async (_reader, before) => {
      await relayQuiet();
      const opened = svc.relay!.stats.streamsOpened;
      const page = await open(engine, pageHtml(svc.base, { before }));
      try {
        const count = 400;
        const got = await page.evaluate(
          async ({ url, count }) => {
            const ws = await (window as any).kit.open(url);
            ws.send(`drip:${count}:4`); // about 1.6 s of pushes: several stream lifetimes, past the bound more than once
            await (window as any).kit.until(ws, count);
            // a marker behind everything: whatever a replaced stream re-sent has arrived (or been skipped) by then
            ws.send('last');
            await (window as any).kit.until(ws, count + 1);
            return ws.receive === 'stream' ? ws.got : [`received by ${ws.receive}`];
          },
          { url: up.url, count },
        );
        expect(got).toEqual([...Array.from({ length: count }, (_v, i) => `p${i + 1}`), 'last']);
        // the receive path was replaced several times while messages flowed
        expect(svc.relay!.stats.streamsOpened - opened).toBeGreaterThanOrEqual(4);
      } finally {
        await page.close();
      }
    },
  );

  test.each([
    [
      'an IE 6/7-class page (no WebSocket, no CORS XMLHttpRequest, no XDomainRequest)',
      { before: 'window.XMLHttpRequest = function () {};' },
    ],
    ['a JSONP-only page (forceJsonp)', { config: { forceJsonp: true } }],
  ])('%s long-polls: receive is "poll", no stream is opened, messages flow', async (_name, o) => {
    await relayQuiet();
    const opened = svc.relay!.stats.streamsOpened;
    const page = await open(engine, pageHtml(svc.base, o));
    try {
      const r = await page.evaluate(async (url) => {
        const ws = await (window as any).kit.open(url);
        ws.send('drip:20:5');
        await (window as any).kit.until(ws, 20);
        return { got: ws.got, receive: ws.receive, sid: ws._sid };
      }, up.url);
      expect(r.got).toEqual(Array.from({ length: 20 }, (_v, i) => `p${i + 1}`));
      expect(r.receive).toBe('poll');
      await until(() => svc.relay!.get(r.sid)?.polling === true, 30_000, 'its poll held');
      expect(svc.relay!.stats.streamsOpened).toBe(opened);
    } finally {
      await page.close();
    }
  });

  describe('behind a proxy that releases only whole responses', () => {
    let buffering: ForwardProxy;
    let behind: Engine;
    // streams that live as long as in production (POLL_MAX_TTL_MS 25 s): only a fallback gets messages through sooner
    let far: Awaited<ReturnType<typeof allInOne>>;
    beforeAll(async () => {
      buffering = await startTestProxy({ onConnect: 'refuse', buffer: true });
      behind = await launchEngine(name, { proxy: buffering.url });
      far = await allInOne({ SUBDOMAINS: 'false' });
    }, 60_000);
    afterAll(async () => {
      await behind?.close();
      await Promise.all([buffering?.close(), far?.close()]);
    });

    test.each(READERS)(
      'the socket still delivers (it falls back to polling), later sockets of the page poll at once, none hangs (%s)',
      async (_reader, before) => {
        const page = await open(behind, pageHtml(far.base, { before }));
        try {
          const r = await page.evaluate(async (url) => {
            const kit = (window as any).kit;
            const first = await kit.open(url);
            first.send('before the fallback');
            await kit.until(first, 1);
            first.send('after it');
            await kit.until(first, 2);
            const second = await kit.open(url);
            const receiveAtOpen = second.receive;
            second.send('second');
            await kit.until(second, 1);
            first.close(1000);
            second.close(1000);
            return {
              first: first.got,
              second: second.got,
              receives: [first.receive, receiveAtOpen],
              closes: [await first.closed, await second.closed],
            };
          }, up.url);
          expect(r).toEqual({
            first: ['before the fallback', 'after it'],
            second: ['second'],
            receives: ['poll', 'poll'],
            closes: [1000, 1000],
          });
        } finally {
          await page.close();
        }
      },
    );
  });
});
