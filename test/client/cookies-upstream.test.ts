/**
 * Which of a page's cookies reach the upstream handshake. The router passes on only what the
 * browser sent with /create, a script load from the router's host, and of that only the cookies
 * the token names: so a cookie gets there when it belongs to the router's host (the page's own
 * host on another port, or a Domain covering the router) and the page is on the router's site;
 * from another site only SameSite=None; Secure could, where the browser allows third-party cookies.
 * In each engine (test/helpers/engines: Chromium, Firefox, WebKit; all three by default, as they
 * cost little: 3.5 s for Chromium alone, 11 s for the three; POLYSOCKET_ENGINES to choose), the
 * window's WebSocket removed; *.localhost names are loopback in all three. WebKit's tabs share
 * one cookie jar: each test has names of its own (`at`), so no cookie of another test can apply.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { mintToken } from '../../router/token';
import { type PageServer, startPageServer } from '../helpers/browser';
import { ALL_ENGINES, type Engine, type EngineName, type EnginePage, enginesToRun, launchEngine, playwrightPage } from '../helpers/engines';
import { allInOne } from '../helpers/services';

const SECRET = 'cookies-upstream-secret-0123456789abcdef0123456789';
let engine: Engine;
let pages: PageServer;
let svc: Awaited<ReturnType<typeof allInOne>>;

/** An application's WebSocket server: it logs the user in from the `session` cookie on the handshake. */
interface AppServer {
  url: string;
  /** the Cookie header of each handshake */
  cookies: (string | undefined)[];
  close(): Promise<void>;
}

async function appServer(): Promise<AppServer> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  const cookies: (string | undefined)[] = [];
  wss.on('connection', (ws, req) => {
    cookies.push(req.headers.cookie);
    ws.on('error', () => undefined);
    const user = /(?:^|; )session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (user) ws.send(`hello ${user}`);
    else ws.close(4001, 'not logged in');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    cookies,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => r());
      }),
  };
}

/** Counts the tests: the names of each are its own. */
let run = 0;
/**
 * `name` made this test's own: its label before `.localhost` gets the test's number
 * (router.example.localhost → router.example-7.localhost), which keeps who is on whose site.
 */
const at = (name: string) => name.replace(/([^.]+)\.localhost$/, `$1-${run}.localhost`);

/** The page server's URL for `path`, under another loopback name. */
const pageAt = (host: string, path: string) => {
  const url = new URL(path, pages.origin);
  url.hostname = host;
  return url.href;
};
/** The all-in-one (the router) under a loopback name. */
const routerAt = (host: string) => {
  const url = new URL(svc.base);
  url.hostname = host;
  return url.origin;
};

/** A page that sets `cookies` (document.cookie strings), then loads polysocket.js from `router` with `token`. */
function appPage(o: { cookies: string[]; router: string; token: string }): string {
  const set = o.cookies.map((c) => `document.cookie = ${JSON.stringify(c)};`).join(' ');
  return `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>delete window.WebSocket; ${set}</script>
<script src="${o.router}/polysocket.js" data-router="${o.router}" data-token="${o.token}"></script>
<script>
window.open1 = function (url) {
  return new Promise(function (resolve) {
    var ws = new WebSocket(url);
    ws.onmessage = function (e) { resolve({ got: e.data }); ws.close(); };
    ws.onclose = function (e) { resolve({ closed: e.code, reason: e.reason }); };
  });
};
</script></body></html>`;
}

/** A token for pages at `host` (the page server's port) that names `cookies`. */
const tokenFor = (host: string, cookies: string[]) =>
  mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], origins: [new URL(pageAt(host, '/')).origin], cookies });

/** Serves `html` at a fresh path, which it returns. */
const serve = (html: string) => new URL(pages.serve(html)).pathname;

/** Opens `html` at `host` in a new page (its own cookie jar, but in WebKit). */
async function open(host: string, html: string): Promise<EnginePage> {
  const p = await engine.newPage();
  page = p;
  await p.goto(pageAt(host, serve(html)));
  return p;
}

/** Opens a socket to the application from the page: its greeting, or how it closed. */
const connect = (page: EnginePage, app: AppServer) =>
  page.evaluate((url) => (window as any).open1(url) as Promise<{ got?: string; closed?: number; reason?: string }>, app.url);

/** Names of the cookies the browser holds for `url` (what it would send there, SameSite aside). */
const heldFor = (page: EnginePage, url: string) => page.cookies(url);

/**
 * Chromium's reasons (DevTools protocol) for each cookie it kept off the page's requests to /create,
 * from now on: read them once the socket is settled. Undefined in the other engines, which name none.
 */
async function withheldFromCreate(page: EnginePage): Promise<(() => Record<string, string[]>) | undefined> {
  const chromium = playwrightPage(page);
  if (!chromium) return undefined;
  const cdp = await chromium.context().newCDPSession(chromium);
  const creates = new Set<string>();
  const cookiesOf = new Map<string, { name: string; reasons: string[] }[]>();
  // the two events of a request come in either order
  cdp.on('Network.requestWillBeSent', (e) => {
    if (new URL(e.request.url).pathname === '/create') creates.add(e.requestId);
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    cookiesOf.set(
      e.requestId,
      e.associatedCookies.map((c) => ({ name: c.cookie.name, reasons: c.blockedReasons })),
    );
  });
  await cdp.send('Network.enable');
  return () => {
    const withheld: Record<string, string[]> = {};
    for (const id of creates) for (const c of cookiesOf.get(id) ?? []) if (c.reasons.length) withheld[c.name] = c.reasons;
    return withheld;
  };
}

/**
 * Where an engine's own cookie store differs from the others': what it holds for the router after
 * the login page set the cookie with these attributes (elsewhere ['session']). The socket's
 * result in that engine is the others' all the same (the test asserts it).
 */
const HELD_AFTER_LOGIN: Record<EngineName, Record<string, string[]>> = {
  chromium: {},
  firefox: {},
  // WebKit keeps no Secure cookie that a page on http: sets, though such a page is a secure context
  // there (window.isSecureContext): document.cookie and the jar are left without it
  webkit: { 'SameSite=None; Secure': [] },
};

const LOGGED_IN = { got: 'hello alice' };
const REFUSED = { closed: 4001, reason: 'not logged in' };

beforeAll(async () => {
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, UPSTREAM_CONNECT_TIMEOUT_MS: '60000' });
}, 30_000);
afterAll(async () => {
  await svc?.close();
});

let app: AppServer;
let page: EnginePage | undefined;
beforeEach(async () => {
  run++;
  app = await appServer();
});
afterEach(async () => {
  await page?.close();
  page = undefined;
  await app.close();
});

describe.each(enginesToRun(ALL_ENGINES))('%s', (name) => {
  beforeAll(async () => {
    engine = await launchEngine(name);
    pages = await startPageServer({ prelude: engine.prelude });
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await pages?.close();
  });

  describe('the router on the page host', () => {
    test("a cookie of the page's host reaches the upstream when the router is that host on another port", async () => {
      const router = routerAt(at('app.localhost'));
      const p = await open(
        at('app.localhost'),
        appPage({ cookies: ['session=alice; path=/'], router, token: tokenFor(at('app.localhost'), ['session']) }),
      );
      expect(new URL(await p.url()).port).not.toBe(new URL(router).port);
      expect(await connect(p, app)).toEqual(LOGGED_IN);
      expect(app.cookies).toEqual(['session=alice']);
    });

    // the browser sends /create the router host's cookies only
    test('a host-only cookie of app.localhost stays behind when the router is router.localhost', async () => {
      const router = routerAt(at('router.localhost'));
      const p = await open(
        at('app.localhost'),
        appPage({ cookies: ['session=alice; path=/'], router, token: tokenFor(at('app.localhost'), ['session']) }),
      );
      expect(await p.evaluate(() => document.cookie)).toBe('session=alice'); // the page has it
      expect(await heldFor(p, `${router}/create`)).toEqual([]); // but not for the router's host
      expect(await connect(p, app)).toEqual(REFUSED);
      expect(app.cookies).toEqual([undefined]);
    });
  });

  describe('a Domain covering the router', () => {
    // set by a page on app.example.localhost
    test('a cookie with Domain=example.localhost reaches the upstream through router.example.localhost', async () => {
      const router = routerAt(at('router.example.localhost'));
      // the same site, so even SameSite=Strict goes with the script load
      const cookies = [`session=alice; domain=${at('example.localhost')}; path=/; SameSite=Strict`];
      const p = await open(
        at('app.example.localhost'),
        appPage({ cookies, router, token: tokenFor(at('app.example.localhost'), ['session']) }),
      );
      expect(await heldFor(p, `${router}/create`)).toEqual(['session']); // the browser took the Domain
      expect(await connect(p, app)).toEqual(LOGGED_IN);
      expect(app.cookies).toEqual(['session=alice']);
    });

    test('a cookie the token does not name never goes upstream, though the browser sends it to the router', async () => {
      const router = routerAt(at('router.example.localhost'));
      // both with the same Domain and path: the browser sends /create both or neither
      const domain = at('example.localhost');
      const cookies = [`session=alice; domain=${domain}; path=/`, `tracking=xyz; domain=${domain}; path=/`];
      const p = await open(
        at('app.example.localhost'),
        appPage({ cookies, router, token: tokenFor(at('app.example.localhost'), ['session']) }),
      );
      expect(await heldFor(p, `${router}/create`)).toEqual(['session', 'tracking']);
      expect(await connect(p, app)).toEqual(LOGGED_IN);
      expect(app.cookies).toEqual(['session=alice']);
    });
  });

  describe('a page on another site than the router', () => {
    /** Logs in on login.example.localhost (a cookie for the router's Domain), then opens the app on app.other.localhost. */
    async function crossSite(attributes: string): Promise<EnginePage> {
      const router = routerAt(at('router.example.localhost'));
      const cookie = `session=alice; domain=${at('example.localhost')}; path=/; ${attributes}`;
      const p = await open(at('login.example.localhost'), `<!doctype html><script>document.cookie = ${JSON.stringify(cookie)};</script>`);
      expect(await heldFor(p, `${router}/create`)).toEqual(HELD_AFTER_LOGIN[name][attributes] ?? ['session']);
      const app = at('app.other.localhost');
      await p.goto(pageAt(app, serve(appPage({ cookies: [], router, token: tokenFor(app, ['session']) }))));
      return p;
    }

    test("the router's SameSite=Lax cookie stays behind: /create is then a cross-site script load", async () => {
      const p = await crossSite('SameSite=Lax');
      const withheld = await withheldFromCreate(p);
      expect(await connect(p, app)).toEqual(REFUSED);
      expect(app.cookies).toEqual([undefined]);
      if (withheld) expect(withheld().session).toContain('SchemefulSameSiteLax');
    });

    // Debian's chromium blocks third-party cookies by default; Firefox keeps a third party's cookies
    // apart per top-level site (cookieBehavior 5), so the login's is not the app page's; WebKit
    // never stored it (HELD_AFTER_LOGIN)
    test('a SameSite=None; Secure cookie stays behind too where the browser blocks third-party cookies', async () => {
      const p = await crossSite('SameSite=None; Secure');
      const withheld = await withheldFromCreate(p);
      expect(await connect(p, app)).toEqual(REFUSED);
      expect(app.cookies).toEqual([undefined]);
      if (withheld) expect(withheld()).toEqual({ session: ['UserPreferences'] }); // the third-party cookie setting, and nothing else
    });
  });
});
