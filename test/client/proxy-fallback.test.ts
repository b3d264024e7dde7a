/**
 * Fallback mode behind real proxies: an unmodified page that loads polysocket.js and says
 * `new WebSocket('ws://…')` gets a socket whatever the proxy does to the upgrade. Chromium is told
 * to use the proxy even for loopback; squid runs with a config of the test's own.
 *   (a) CONNECT allowed          → native; not one request reaches the router
 *   (b) squid's default rule     → CONNECT refused, the same object goes on over the tunnel
 *   (c) CONNECT held silent      → the tunnel, once the native attempt's bound passes
 *   (d) squid with `cache allow all` → no create, poll or send answer is ever served from its cache
 *   (e) a proxy that buffers whole responses → the tunnel still delivers
 * In every case the upstream sees exactly one connection per page socket.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { mintToken } from '../../router/token';
import { until } from '../harness/until';
import { launchChromium, type PageServer, startPageServer } from '../helpers/browser';
import { type ForwardProxy, type Squid, startSquid, startTestProxy } from '../helpers/proxies';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';

const SECRET = 'proxy-fallback-secret-0123456789abcdef0123456789ab';

let pages: PageServer;
let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;
let token: string;

beforeAll(async () => {
  [pages, up] = await Promise.all([startPageServer(), startUpstream()]);
  // one host for every socket: a proxy resolves names itself, and no resolver here has wildcard *.localhost
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, SUBDOMAINS: 'false' });
  token = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], origins: [pages.origin] });
}, 30_000);

afterAll(async () => {
  await Promise.all([svc?.close(), pages?.close(), up?.close()]);
});

/** A page as a user writes it: polysocket.js, then plain `new WebSocket`. */
function pageHtml(attrs = ''): string {
  return pages.page(
    `/p${Math.random().toString(36).slice(2)}.html`,
    `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script src="${svc.base}/polysocket.js" data-router="${svc.base}" data-token="${token}"${attrs}></script>
</body></html>`,
  );
}

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

/** A browser behind `proxy`, with one context (one localStorage) for a test's pages; `forget` starts a new one. */
async function behind(proxy: ForwardProxy) {
  const browser = await launchChromium({ proxy: proxy.url });
  let context: BrowserContext = await browser.newContext();
  return {
    browser,
    forget: async () => {
      await context.close();
      context = await browser.newContext();
    },
    open: async (attrs = ''): Promise<Page> => {
      const page = await context.newPage();
      await page.goto(pageHtml(attrs));
      return page;
    },
  };
}

/** CONNECTs squid logged to the upstream (squid logs a request when it ends, a little later). */
const upstreamConnects = (squid: Squid) => squid.connects().filter((c) => c === `127.0.0.1:${up.port}`).length;

const routerRequests = (squid: Squid) =>
  squid.accessLog().filter((l) => l.includes(`${svc.base}/create`) || l.includes(`localhost:${svc.port}/`));

describe('(a) CONNECT allowed', () => {
  let squid: Squid;
  let b: Awaited<ReturnType<typeof behind>>;
  beforeAll(async () => {
    squid = await startSquid({ connect: 'any' });
    b = await behind(squid);
  }, 60_000);
  afterAll(async () => {
    await b?.browser.close();
    await squid?.close();
  });

  test('the page gets the native WebSocket path, and no request reaches the router', async () => {
    const page = await b.open();
    const before = up.origins.length;
    const sent = routerRequests(squid).length; // the page's own script load
    const r = await page.evaluate(PROBE, [up.url, 3] as [string, number]);
    expect(r).toEqual({ events: ['open'], initially: 'websocket', transport: 'websocket', echoed: ['m0', 'm1', 'm2'], isWebSocket: true });
    expect(up.origins.length - before).toBe(1);
    await page.close();
    // squid logs a tunnel when it ends: the page's socket went through it, CONNECT and all
    await until(() => squid.connects().includes(`127.0.0.1:${up.port}`), 20_000, 'the CONNECT in the access log');
    expect(
      routerRequests(squid)
        .slice(sent)
        .filter((l) => /\/(create|j|s)\b/.test(l)),
    ).toEqual([]);
  });
});

describe("(b) squid's default: CONNECT only to 443", () => {
  let squid: Squid;
  let b: Awaited<ReturnType<typeof behind>>;
  beforeAll(async () => {
    squid = await startSquid({ connect: 'ssl-ports' });
    b = await behind(squid);
  }, 60_000);
  afterAll(async () => {
    await b?.browser.close();
    await squid?.close();
  });
  // every test starts in a browser that remembers nothing
  beforeEach(() => b.forget());

  test('the same object goes on over the tunnel: one open, never the failed attempt, one upstream connection', async () => {
    const page = await b.open();
    const before = up.origins.length;
    const r = await page.evaluate(PROBE, [up.url, 3] as [string, number]);
    expect(r).toEqual({ events: ['open'], initially: 'websocket', transport: 'polling', echoed: ['m0', 'm1', 'm2'], isWebSocket: true });
    expect(up.origins.length - before).toBe(1);
    expect(squid.accessLog().some((l) => l.includes('TCP_DENIED') && l.includes('CONNECT'))).toBe(true);
    await page.close();
  });

  test('after a fallback, later sockets of the page and of later page loads go straight to the tunnel', async () => {
    const before = upstreamConnects(squid);
    const first = await b.open();
    expect(await first.evaluate(PROBE, [up.url, 1] as [string, number])).toMatchObject({ initially: 'websocket', transport: 'polling' });
    await until(() => upstreamConnects(squid) > before, 20_000, "the first socket's refused CONNECT in the access log");
    const connects = upstreamConnects(squid);
    const again = await first.evaluate(PROBE, [up.url, 1] as [string, number]);
    const later = await b.open();
    const reload = await later.evaluate(PROBE, [up.url, 1] as [string, number]);
    // no second native attempt: the constructor went straight to the tunnel, and the proxy saw no CONNECT
    expect([again, reload].map((r) => [r.events, r.initially, r.transport])).toEqual([
      [['open'], 'polling', 'polling'],
      [['open'], 'polling', 'polling'],
    ]);
    expect(upstreamConnects(squid)).toBe(connects);
    await first.close();
    await later.close();
  });

  test('what is remembered expires: past its time the native attempt is made again', async () => {
    const page = await b.open();
    await page.evaluate(() => {
      for (const k of Object.keys(localStorage)) if (k.startsWith('polysocket.fallback ')) localStorage.setItem(k, '1');
    });
    const connects = upstreamConnects(squid);
    expect(await page.evaluate(PROBE, [up.url, 1] as [string, number])).toMatchObject({ initially: 'websocket', transport: 'polling' });
    await until(() => upstreamConnects(squid) === connects + 1, 20_000, 'a new CONNECT in the access log');
    await page.close();
  });

  test('with data-fallback="off" the page gets the native failure as it is', async () => {
    const page = await b.open(' data-fallback="off"');
    const r = await page.evaluate(PROBE, [up.url, 1] as [string, number]);
    expect(r).toEqual({ events: ['error', 'close 1006'], initially: undefined, transport: undefined, echoed: [], isWebSocket: true });
    await page.close();
  });

  test("when the tunnel fails too, the page sees one error and one close, with the tunnel's code", async () => {
    const page = await b.open();
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
    await page.close();
  });
});

describe('(c) a proxy that holds the CONNECT open and silent', () => {
  let proxy: ForwardProxy;
  let b: Awaited<ReturnType<typeof behind>>;
  beforeAll(async () => {
    proxy = await startTestProxy({ onConnect: 'hold' });
    b = await behind(proxy);
  }, 60_000);
  afterAll(async () => {
    await b?.browser.close();
    await proxy?.close();
  });

  test('the tunnel takes over once the bound passes, and the held attempt never reaches the upstream', async () => {
    const page = await b.open();
    const before = up.origins.length;
    const r = await page.evaluate(PROBE, [up.url, 2] as [string, number]);
    expect(r).toEqual({ events: ['open'], initially: 'websocket', transport: 'polling', echoed: ['m0', 'm1'], isWebSocket: true });
    expect(proxy.connects()).toContain(`127.0.0.1:${up.port}`);
    expect(up.origins.length - before).toBe(1);
    await page.close();
  });
});

describe('(d) squid with cache allow all', () => {
  let squid: Squid;
  let b: Awaited<ReturnType<typeof behind>>;
  beforeAll(async () => {
    squid = await startSquid({ connect: 'ssl-ports', cache: true });
    b = await behind(squid);
  }, 60_000);
  afterAll(async () => {
    await b?.browser.close();
    await squid?.close();
  });

  test('no create, poll or send answer is ever served from the cache', async () => {
    const page = await b.open();
    // twice the same sends on two sockets: identical requests a cache could answer
    for (let i = 0; i < 2; i++) {
      const r = await page.evaluate(PROBE, [up.url, 5] as [string, number]);
      expect([r.transport, r.echoed]).toEqual(['polling', ['m0', 'm1', 'm2', 'm3', 'm4']]);
    }
    // closing the sockets ends their streams (docs/PROTOCOL.md §3.4); squid logs a request once it ended
    await page.evaluate(() => (window as any).probed.forEach((ws: WebSocket) => ws.close()));
    await page.close();
    const tunnel = () => squid.accessLog().filter((l) => /\/(create|j\/|s\/)/.test(l));
    // squid logs no query: a stream is the /j/ answer of text/plain
    await until(() => tunnel().filter((l) => /\/j\/\S+ .* text\/plain$/.test(l)).length >= 2, 30_000, "both sockets' streams logged");
    expect(tunnel().length).toBeGreaterThan(4);
    expect(tunnel().filter((l) => /HIT/.test(l))).toEqual([]);
  });
});

describe('(e) a proxy that buffers whole responses', () => {
  let proxy: ForwardProxy;
  let b: Awaited<ReturnType<typeof behind>>;
  beforeAll(async () => {
    proxy = await startTestProxy({ onConnect: 'refuse', buffer: true });
    b = await behind(proxy);
  }, 60_000);
  afterAll(async () => {
    await b?.browser.close();
    await proxy?.close();
  });

  test('the tunnel still delivers, both ways', async () => {
    const page = await b.open();
    const r = await page.evaluate(PROBE, [up.url, 4] as [string, number]);
    expect(r).toEqual({
      events: ['open'],
      initially: 'websocket',
      transport: 'polling',
      echoed: ['m0', 'm1', 'm2', 'm3'],
      isWebSocket: true,
    });
    await page.close();
  });
});
