/**
 * What real WebSocket servers see of a page behind the polyfill, and when it leaves: the page's
 * cookies (only those its token names), its address and user agent as a reverse proxy passes them
 * on, a tab closed closing the upstream with 1001 "going away", and the WebSocket API's exact
 * conversions. In each engine (test/helpers/engines: Chromium, Firefox, WebKit; all three by
 * default; POLYSOCKET_ENGINES to choose), the window's WebSocket removed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { mintToken } from '../../router/token';
import { until } from '../harness/until';
import { type PageServer, startPageServer } from '../helpers/browser';
import { ALL_ENGINES, type Engine, type EnginePage, enginesToRun, launchEngine, openPage } from '../helpers/engines';
import { allInOne } from '../helpers/services';

const SECRET = 'real-applications-secret-0123456789abcdef0123456789';
let svc: Awaited<ReturnType<typeof allInOne>>;

/** A server as applications write them: it logs the user in from a cookie on the handshake, and records what it saw. */
interface AppServer {
  url: string;
  seen: { cookie?: string; forwardedFor?: string; forwardedProto?: string; forwardedHost?: string; userAgent?: string }[];
  received: string[];
  closes: { code: number; reason: string }[];
  close(): Promise<void>;
}

async function appServer(): Promise<AppServer> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  const app: AppServer = { url: '', seen: [], received: [], closes: [], close: async () => undefined };
  wss.on('connection', (ws, req) => {
    const h = req.headers;
    app.seen.push({
      cookie: h.cookie,
      forwardedFor: h['x-forwarded-for'] as string,
      forwardedProto: h['x-forwarded-proto'] as string,
      forwardedHost: h['x-forwarded-host'] as string,
      userAgent: h['user-agent'],
    });
    ws.on('error', () => undefined);
    ws.on('message', (d) => app.received.push(d.toString()));
    ws.on('close', (code, reason) => app.closes.push({ code, reason: reason.toString() }));
    const user = /(?:^|; )session=([^;]+)/.exec(h.cookie ?? '')?.[1];
    if (user) ws.send(`hello ${user}`);
    else ws.close(4001, 'not logged in');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  app.close = () =>
    new Promise((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close(() => r());
    });
  return app;
}

beforeAll(async () => {
  svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, UPSTREAM_CONNECT_TIMEOUT_MS: '60000' });
}, 30_000);
afterAll(async () => {
  await svc?.close();
});

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

  function pageWith(token: string): string {
    return `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>delete window.WebSocket; document.cookie = 'session=alice; path=/'; document.cookie = 'tracking=xyz; path=/';</script>
<script src="${svc.base}/polysocket.js" data-router="${svc.base}" data-token="${token}"></script>
<script>
window.open1 = function (url) {
  return new Promise(function (resolve) {
    var ws = new WebSocket(url), got = [];
    ws.onmessage = function (e) { got.push(e.data); resolve({ got: got, ws: ws }); };
    ws.onclose = function (e) { resolve({ closed: e.code, reason: e.reason }); };
    window.lastSocket = ws;
  });
};
</script></body></html>`;
  }

  function open(html: string): Promise<EnginePage> {
    return openPage(engine, pages.serve(html));
  }

  const token = (extra: { cookies?: string[] } = {}) =>
    mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], origins: [pages.origin], ...extra });

  describe('who the client is', () => {
    test('an upstream that logs users in from a cookie serves the page, because the token names that cookie', async () => {
      const app = await appServer();
      const page = await open(pageWith(token({ cookies: ['session'] })));
      try {
        const r = await page.evaluate((url) => (window as any).open1(url).then((x: any) => ({ got: x.got, closed: x.closed })), app.url);
        expect(r).toEqual({ got: ['hello alice'] });
        // only the named cookie went on
        expect(app.seen[0].cookie).toBe('session=alice');
      } finally {
        await page.close();
        await app.close();
      }
    });

    test('without the claim no cookie goes upstream, and the server refuses the page as it would a stranger', async () => {
      const app = await appServer();
      const page = await open(pageWith(token()));
      try {
        const r = await page.evaluate((url) => (window as any).open1(url), app.url);
        expect(r).toEqual({ closed: 4001, reason: 'not logged in' });
        expect(app.seen[0].cookie).toBeUndefined();
      } finally {
        await page.close();
        await app.close();
      }
    });

    test("the upstream sees the page's address and user agent, as a reverse proxy passes them on", async () => {
      const app = await appServer();
      const page = await open(pageWith(token({ cookies: ['session'] })));
      try {
        await page.evaluate((url) => (window as any).open1(url).then(() => undefined), app.url);
        const ua = await page.evaluate(() => navigator.userAgent);
        expect(app.seen[0]).toMatchObject({
          forwardedFor: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/),
          forwardedProto: 'http',
          forwardedHost: new URL(svc.base).host,
          userAgent: ua,
        });
      } finally {
        await page.close();
        await app.close();
      }
    });
  });

  describe('when the page leaves', () => {
    test('closing the tab closes the upstream with 1001 "going away", without waiting for the idle timeout', async () => {
      const app = await appServer();
      const page = await open(pageWith(token({ cookies: ['session'] })));
      await page.evaluate((url) => (window as any).open1(url).then(() => undefined), app.url);
      await page.close();
      try {
        await until(() => app.closes.length === 1, 10_000, 'the upstream closed');
        expect(app.closes[0]).toEqual({ code: 1001, reason: 'going away' });
        await until(() => svc.relay!.snapshot().sessions === 0, 10_000, 'nothing left on the relay');
      } finally {
        await app.close();
      }
    });
  });

  describe('exact WebSocket semantics', () => {
    let page: EnginePage;
    let app: AppServer;
    beforeAll(async () => {
      app = await appServer();
      page = await open(pageWith(token({ cookies: ['session'] })));
    });
    afterAll(async () => {
      await page.close();
      await app.close();
    });

    test('send() with no argument throws TypeError', async () => {
      const thrown = await page.evaluate(async (url) => {
        const { ws } = await (window as any).open1(url);
        try {
          ws.send();
          return 'no error';
        } catch (e: any) {
          return e.name;
        }
      }, app.url);
      expect(thrown).toBe('TypeError');
    });

    test('unpaired surrogates in send() and close() become U+FFFD; close(3000.4) closes with 3000', async () => {
      const before = app.closes.length;
      await page.evaluate(async (url) => {
        const { ws } = await (window as any).open1(url);
        ws.send('a\uD800b\uDC00c\uD83D\uDE00');
        ws.close(3000.4, 'bye\uD800');
        await new Promise((r) => ws.addEventListener('close', r));
      }, app.url);
      await until(() => app.closes.length > before, 10_000, 'the upstream closed');
      expect(app.received.at(-1)).toBe('a\uFFFDb\uFFFDc\uD83D\uDE00');
      expect(app.closes.at(-1)).toEqual({ code: 3000, reason: 'bye\uFFFD' });
    });

    test("the relay's close is acknowledged: right after a close the relay holds no session", async () => {
      await until(() => svc.relay!.snapshot().sessions <= 1, 10_000, 'earlier sockets gone');
      const baseline = svc.relay!.snapshot().sessions;
      await page.evaluate(async (url) => {
        const { ws } = await (window as any).open1(url);
        ws.close(1000);
        await new Promise((r) => ws.addEventListener('close', r));
      }, app.url);
      await until(() => svc.relay!.snapshot().sessions === baseline, 10_000, 'the closed socket forgotten');
    });

    test('close() while the upstream handshake hangs fires close at once', async () => {
      const hanging = http.createServer();
      const held: import('node:net').Socket[] = [];
      hanging.on('upgrade', (_req, socket) => held.push(socket as import('node:net').Socket)); // never answers the handshake
      await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
      const url = `ws://127.0.0.1:${(hanging.address() as AddressInfo).port}/`;
      try {
        const r = await page.evaluate(async (u) => {
          const ws = new WebSocket(u);
          const events: string[] = [];
          ws.onerror = () => events.push('error');
          const closed = new Promise(
            (res) => (ws.onclose = (e: CloseEvent) => res({ code: e.code, events, errorCode: (ws as any).errorCode })),
          );
          await new Promise((res) => setTimeout(res, 50)); // the create is under way
          ws.close();
          return closed;
        }, url);
        expect(r).toEqual({ code: 1006, events: ['error'], errorCode: 'closed_before_open' });
      } finally {
        for (const socket of held) socket.destroy();
        hanging.close();
      }
    });
  });

  test('an upstream breaking the protocol (invalid UTF-8 in a text frame): error, then close 1006, as natively', async () => {
    const net = await import('node:net');
    const { createHash } = await import('node:crypto');
    // a server that completes the handshake, then sends a text frame whose payload is not UTF-8
    const broken = net.createServer((socket) => {
      socket.once('data', (d) => {
        const key = /Sec-WebSocket-Key: (\S+)/i.exec(d.toString())?.[1] ?? '';
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        setTimeout(() => socket.write(Buffer.from([0x81, 0x02, 0xff, 0xfe])), 100);
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    const url = `ws://127.0.0.1:${(broken.address() as AddressInfo).port}/`;
    const page = await open(pageWith(token()));
    try {
      const seen = await page.evaluate(async (u) => {
        const ws = new WebSocket(u);
        const events: string[] = [];
        ws.onerror = () => events.push('error');
        await new Promise<void>((r) => {
          ws.onclose = (e) => {
            events.push(`close ${e.code}`);
            r();
          };
        });
        return events;
      }, url);
      expect(seen).toEqual(['error', 'close 1006']);
    } finally {
      await page.close();
      broken.close();
    }
  });
});
