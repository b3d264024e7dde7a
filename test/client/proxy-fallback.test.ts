/**
 * Fallback mode behind real proxies: an unmodified page that loads polysocket.js and says
 * `new WebSocket('ws://…')` gets a socket whatever the proxy does to the upgrade. Each engine
 * (test/helpers/engines: Chromium, Firefox, WebKit) is told to use the proxy even for loopback;
 * squid runs with a config of the test's own.
 *   (a) CONNECT allowed          → native; not one request reaches the router
 *   (b) squid's default rule     → CONNECT refused, the same object goes on over the tunnel
 *   (c) CONNECT held silent      → the tunnel, once the native attempt's bound passes
 *   (d) squid with `cache allow all` → no create, poll or send answer is ever served from its cache
 *   (e) a proxy that buffers whole responses → the tunnel still delivers
 * In every case the upstream sees exactly one connection per page socket.
 *
 * Chromium and Firefox ask the proxy for a ws: socket with a CONNECT; WebKit sends the handshake
 * itself to the proxy (`GET ws://…`, which squid answers 501), so behind squid its own WebSocket
 * never opens: in (a) it takes the tunnel where the others stay native (NATIVE_DIFFERS). "A
 * native attempt" below is either (attempts()).
 *
 * Engines: Chromium and WebKit by default, the two ways an engine asks a proxy for a ws: socket;
 * Firefox asks as Chromium does and passes the same, but adds the most time of the three (five
 * launches of its own, ≈ +16 s to this file against ≈ +2 s for WebKit): it runs under
 * POLYSOCKET_ENGINES=chromium,firefox,webkit, and engines.test.ts holds its proxy option to the
 * contract on every run.
 */
import { mintToken } from '../../router/token';
import { until } from '../harness/until';
import { type PageServer, startPageServer } from '../helpers/browser';
import { clearLocalStorage, type Engine, type EngineName, type EnginePage, enginesToRun, launchEngine } from '../helpers/engines';
import { type ForwardProxy, type Squid, startSquid, startTestProxy } from '../helpers/proxies';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';

const SECRET = 'proxy-fallback-secret-0123456789abcdef0123456789ab';

let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;

beforeAll(async () => {
  up = await startUpstream();
  // one host for every socket: a proxy resolves names itself, and no resolver here has wildcard *.localhost
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, SUBDOMAINS: 'false' });
}, 30_000);

afterAll(async () => {
  await Promise.all([svc?.close(), up?.close()]);
});

interface Probe {
  /** every event the page saw, in order, up to the echoes or the close */
  events: string[];
  /** the path the constructor chose: 'polling' from the start means no native attempt was made */
  initially?: string;
  transport?: string;
  echoed: string[];
  isWebSocket: boolean;
}

/** In the page: one socket, its events, and `n` echoes if it opens. Bounded: 30 s at most. */
const PROBE = ([url, n]: [string, number]): Promise<Probe> =>
  new Promise((resolve) => {
    const ws = new WebSocket(url);
    // kept, for a test that closes them
    (window as any).probed = ((window as any).probed ?? []).concat(ws);
    const initially = (ws as any).transport;
    const events: string[] = [];
    const echoed: string[] = [];
    const done = () => resolve({ events, initially, transport: (ws as any).transport, echoed, isWebSocket: ws instanceof WebSocket });
    setTimeout(() => {
      events.push('timeout');
      done();
    }, 30_000);
    ws.onopen = () => {
      events.push('open');
      for (let i = 0; i < n; i++) ws.send(`m${i}`);
      if (n === 0) done();
    };
    ws.onmessage = (e) => {
      echoed.push(String(e.data));
      if (echoed.length === n) done();
    };
    ws.onerror = () => events.push('error');
    ws.onclose = (e) => {
      events.push(`close ${e.code}`);
      done();
    };
  });

/** The native attempts a proxy saw to the upstream: CONNECTs, and WebKit's absolute-form handshakes. */
const attempts = (proxy: ForwardProxy) => [...proxy.connects(), ...proxy.upgrades()].filter((c) => c === `127.0.0.1:${up.port}`).length;

/**
 * Where an engine's own WebSocket does not get through behind a proxy that allows CONNECT: its
 * result (with data-fallback="off") beside the polyfill's (fallback mode, as a page has it).
 */
const NATIVE_DIFFERS: Record<EngineName, Record<string, { native: Probe; polyfill: Probe }>> = {
  chromium: {},
  firefox: {},
  webkit: {
    // squid answers WebKit's GET ws://… with 501: it proxies no ws: URL
    '(a)': {
      native: { events: ['error', 'close 1006'], echoed: [], isWebSocket: true },
      polyfill: { events: ['open'], initially: 'websocket', transport: 'polling', echoed: ['m0', 'm1', 'm2'], isWebSocket: true },
    },
  },
};

/** The squid log lines of requests to the router (the tunnel's requests and polysocket.js itself). */
const routerRequests = (squid: Squid) =>
  squid.accessLog().filter((l) => l.includes(`${svc.base}/create`) || l.includes(`localhost:${svc.port}/`));

/** The engines of an ordinary run (see the top of the file). */
const DEFAULT_ENGINES: readonly EngineName[] = ['chromium', 'webkit'];

describe.each(enginesToRun(DEFAULT_ENGINES))('%s', (name) => {
  /** `name` behind `proxy`, with a page server of its own (its pages carry the engine's prelude). */
  async function behind(proxy: ForwardProxy) {
    const engine: Engine = await launchEngine(name, { proxy: proxy.url });
    let pages: PageServer;
    try {
      pages = await startPageServer({ prelude: engine.prelude });
    } catch (err) {
      await engine.close();
      throw err;
    }
    const token = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], origins: [pages.origin] });
    /** A page as a user writes it: polysocket.js, then plain `new WebSocket`. */
    const pageUrl = (attrs = '') =>
      pages.serve(
        `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script src="${svc.base}/polysocket.js" data-router="${svc.base}" data-token="${token}"${attrs}></script>
</body></html>`,
      );
    const opened = new Set<EnginePage>();
    return {
      pageUrl,
      /** a new page (in Chromium and Firefox a new browser context, in WebKit a tab sharing the others' storage) */
      open: async (attrs = ''): Promise<EnginePage> => {
        const page = await engine.newPage();
        opened.add(page);
        await page.goto(pageUrl(attrs));
        return page;
      },
      close: async (page: EnginePage) => {
        opened.delete(page);
        await page.close();
      },
      /** what the pages' origin remembers of earlier fallbacks gone (WebKit's tabs share it; elsewhere each page starts empty) */
      forget: () => clearLocalStorage(engine, pages.page('/forget.html', '<!doctype html><title>forget</title>')),
      /** every page still open, the browser (and every process of it), the page server */
      stop: async () => {
        for (const page of opened) await page.close().catch(() => undefined);
        await engine.close();
        await pages.close();
      },
    };
  }
  type Behind = Awaited<ReturnType<typeof behind>>;

  describe('(a) CONNECT allowed', () => {
    let squid: Squid | undefined;
    let b: Behind | undefined;
    beforeAll(async () => {
      squid = await startSquid({ connect: 'any' });
      b = await behind(squid);
    }, 60_000);
    afterAll(async () => {
      await b?.stop();
      await squid?.close();
    });

    test('the page gets the native WebSocket path, and no request reaches the router', async () => {
      const differs = NATIVE_DIFFERS[name]['(a)'];
      if (differs) {
        // the engine's own socket, as it is, then the page's in fallback mode
        const off = await b!.open(' data-fallback="off"');
        expect(await off.evaluate(PROBE, [up.url, 3] as [string, number])).toEqual(differs.native);
        await b!.close(off);
        const page = await b!.open();
        const before = up.origins.length;
        const sent = routerRequests(squid!).length;
        expect(await page.evaluate(PROBE, [up.url, 3] as [string, number])).toEqual(differs.polyfill);
        expect(up.origins.length - before).toBe(1);
        expect(
          routerRequests(squid!)
            .slice(sent)
            .some((l) => l.includes('/create')),
        ).toBe(true);
        // both native attempts went to the proxy, and neither got through it
        const asked = () => squid!.upgrades().filter((u) => u === `127.0.0.1:${up.port}`).length;
        await until(() => asked() >= 2, 20_000, 'both handshakes in the access log');
        expect(asked()).toBe(2);
        await b!.close(page);
        return;
      }
      const page = await b!.open();
      const before = up.origins.length;
      const sent = routerRequests(squid!).length; // the page's own script load
      const r = await page.evaluate(PROBE, [up.url, 3] as [string, number]);
      expect(r).toEqual({
        events: ['open'],
        initially: 'websocket',
        transport: 'websocket',
        echoed: ['m0', 'm1', 'm2'],
        isWebSocket: true,
      });
      expect(up.origins.length - before).toBe(1);
      await b!.close(page);
      // squid logs a tunnel when it ends: the page's socket went through it, CONNECT and all
      await until(() => squid!.connects().includes(`127.0.0.1:${up.port}`), 20_000, 'the CONNECT in the access log');
      expect(
        routerRequests(squid!)
          .slice(sent)
          .filter((l) => /\/(create|j|s)\b/.test(l)),
      ).toEqual([]);
    });
  });

  describe("(b) squid's default: CONNECT only to 443", () => {
    let squid: Squid | undefined;
    let b: Behind | undefined;
    beforeAll(async () => {
      squid = await startSquid({ connect: 'ssl-ports' });
      b = await behind(squid);
    }, 60_000);
    afterAll(async () => {
      await b?.stop();
      await squid?.close();
    });
    // every test starts in a browser that remembers nothing
    beforeEach(() => b!.forget());

    test('the same object goes on over the tunnel: one open, never the failed attempt, one upstream connection', async () => {
      const page = await b!.open();
      const before = up.origins.length;
      const r = await page.evaluate(PROBE, [up.url, 3] as [string, number]);
      expect(r).toEqual({ events: ['open'], initially: 'websocket', transport: 'polling', echoed: ['m0', 'm1', 'm2'], isWebSocket: true });
      expect(up.origins.length - before).toBe(1);
      // squid refused it: the CONNECT by its rule, WebKit's GET ws://… as a URL it cannot proxy
      const refused = (l: string) =>
        (l.includes('TCP_DENIED') && l.includes(' CONNECT ')) || (l.includes('/501 ') && l.includes(' GET ws://'));
      expect(squid!.accessLog().some(refused)).toBe(true);
      await b!.close(page);
    });

    test('after a fallback, later sockets of the page and of later page loads go straight to the tunnel', async () => {
      const before = attempts(squid!);
      const page = await b!.open();
      expect(await page.evaluate(PROBE, [up.url, 1] as [string, number])).toMatchObject({ initially: 'websocket', transport: 'polling' });
      await until(() => attempts(squid!) > before, 20_000, "the first socket's refused attempt in the access log");
      const seen = attempts(squid!);
      const again = await page.evaluate(PROBE, [up.url, 1] as [string, number]);
      // a later page load in the same tab (one browser context, one localStorage)
      await page.goto(b!.pageUrl());
      const reload = await page.evaluate(PROBE, [up.url, 1] as [string, number]);
      // no second native attempt: the constructor went straight to the tunnel, and the proxy saw none
      expect([again, reload].map((r) => [r.events, r.initially, r.transport])).toEqual([
        [['open'], 'polling', 'polling'],
        [['open'], 'polling', 'polling'],
      ]);
      expect(attempts(squid!)).toBe(seen);
      await b!.close(page);
    });

    test('what is remembered expires: past its time the native attempt is made again', async () => {
      const page = await b!.open();
      await page.evaluate(() => {
        for (const k of Object.keys(localStorage)) if (k.startsWith('polysocket.fallback ')) localStorage.setItem(k, '1');
      });
      const seen = attempts(squid!);
      expect(await page.evaluate(PROBE, [up.url, 1] as [string, number])).toMatchObject({ initially: 'websocket', transport: 'polling' });
      await until(() => attempts(squid!) === seen + 1, 20_000, 'a new native attempt in the access log');
      await b!.close(page);
    });

    test('with data-fallback="off" the page gets the native failure as it is', async () => {
      const page = await b!.open(' data-fallback="off"');
      const r = await page.evaluate(PROBE, [up.url, 1] as [string, number]);
      expect(r).toEqual({ events: ['error', 'close 1006'], initially: undefined, transport: undefined, echoed: [], isWebSocket: true });
      await b!.close(page);
    });

    test("when the tunnel fails too, the page sees one error and one close, with the tunnel's code", async () => {
      const page = await b!.open();
      const r = await page.evaluate(
        ([url]) =>
          new Promise<{ events: string[]; errorCode: string }>((resolve) => {
            const ws = new WebSocket(url);
            const events: string[] = [];
            ws.onopen = () => events.push('open');
            ws.onerror = () => events.push('error');
            ws.onclose = (e) => {
              events.push(`close ${e.code}`);
              resolve({ events, errorCode: (ws as any).errorCode });
            };
          }),
        ['ws://127.0.0.1:1/nothing-listens'],
      );
      expect(r.events).toEqual(['error', 'close 1006']);
      expect(r.errorCode).not.toBeNull();
      await b!.close(page);
    });
  });

  describe('(c) a proxy that holds the CONNECT open and silent', () => {
    let proxy: ForwardProxy | undefined;
    let b: Behind | undefined;
    beforeAll(async () => {
      proxy = await startTestProxy({ onConnect: 'hold' });
      b = await behind(proxy);
    }, 60_000);
    afterAll(async () => {
      await b?.stop();
      await proxy?.close();
    });

    test('the tunnel takes over once the bound passes, and the held attempt never reaches the upstream', async () => {
      const page = await b!.open();
      const before = up.origins.length;
      const r = await page.evaluate(PROBE, [up.url, 2] as [string, number]);
      expect(r).toEqual({ events: ['open'], initially: 'websocket', transport: 'polling', echoed: ['m0', 'm1'], isWebSocket: true });
      expect(attempts(proxy!)).toBe(1);
      expect(up.origins.length - before).toBe(1);
      await b!.close(page);
    });
  });

  describe('(d) squid with cache allow all', () => {
    let squid: Squid | undefined;
    let b: Behind | undefined;
    beforeAll(async () => {
      squid = await startSquid({ connect: 'ssl-ports', cache: true });
      b = await behind(squid);
    }, 60_000);
    afterAll(async () => {
      await b?.stop();
      await squid?.close();
    });

    test('no create, poll or send answer is ever served from the cache', async () => {
      const page = await b!.open();
      // twice the same sends on two sockets: identical requests a cache could answer
      for (let i = 0; i < 2; i++) {
        const r = await page.evaluate(PROBE, [up.url, 5] as [string, number]);
        expect([r.transport, r.echoed]).toEqual(['polling', ['m0', 'm1', 'm2', 'm3', 'm4']]);
      }
      // closing the sockets ends their streams (docs/PROTOCOL.md §3.4); squid logs a request once it ended
      await page.evaluate(() => (window as any).probed.forEach((ws: WebSocket) => ws.close()));
      await b!.close(page);
      const tunnel = () => squid!.accessLog().filter((l) => /\/(create|j\/|s\/)/.test(l));
      // squid logs no query: a stream is the /j/ answer of text/plain
      await until(() => tunnel().filter((l) => /\/j\/\S+ .* text\/plain$/.test(l)).length >= 2, 30_000, "both sockets' streams logged");
      expect(tunnel().length).toBeGreaterThan(4);
      expect(tunnel().filter((l) => /HIT/.test(l))).toEqual([]);
    });
  });

  describe('(e) a proxy that buffers whole responses', () => {
    let proxy: ForwardProxy | undefined;
    let b: Behind | undefined;
    beforeAll(async () => {
      proxy = await startTestProxy({ onConnect: 'refuse', buffer: true });
      b = await behind(proxy);
    }, 60_000);
    afterAll(async () => {
      await b?.stop();
      await proxy?.close();
    });

    test('the tunnel still delivers, both ways', async () => {
      const page = await b!.open();
      const r = await page.evaluate(PROBE, [up.url, 4] as [string, number]);
      expect(r).toEqual({
        events: ['open'],
        initially: 'websocket',
        transport: 'polling',
        echoed: ['m0', 'm1', 'm2', 'm3'],
        isWebSocket: true,
      });
      expect(attempts(proxy!)).toBe(1);
      await b!.close(page);
    });
  });
});
