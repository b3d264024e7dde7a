/**
 * The browser abstraction the client tests run on (test/helpers/engines), held to one contract
 * in each engine: a script before the page's own, evaluation through JSON, waiting, the console,
 * and no process of the engine's left once it is closed.
 */
import { startPageServer, type PageServer } from '../helpers/browser';
import { ALL_ENGINES, type Engine, enginesToRun, launchEngine } from '../helpers/engines';
import { alive, childrenOf, commandOf } from '../helpers/engines/processes';
import { type Squid, startSquid } from '../helpers/proxies';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { until } from '../harness/until';

describe.each(enginesToRun(ALL_ENGINES))('%s', (name) => {
  let engine: Engine | undefined;
  let pages: PageServer;
  /** the engine's own processes, children of this one */
  let started: number[];
  beforeAll(async () => {
    const before = new Set(childrenOf(process.pid));
    engine = await launchEngine(name, { before: 'window.beforePage = document.scripts.length;' });
    started = childrenOf(process.pid).filter((pid) => !before.has(pid));
    pages = await startPageServer({ prelude: engine!.prelude });
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await pages?.close();
  });

  const html = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>window.seenByPage = window.beforePage; console.warn('from the page', 42);
document.title = document.compatMode;</script></body></html>`;

  test('the before script runs ahead of the page, in standards mode', async () => {
    const page = await engine!.newPage();
    try {
      await page.goto(pages.page('/before.html', html));
      // WebKit's prelude is itself a script of the page: one script ahead at most
      expect(await page.evaluate(() => (window as any).seenByPage)).toBeLessThanOrEqual(1);
      expect(await page.evaluate(() => document.title)).toBe('CSS1Compat');
    } finally {
      await page.close();
    }
  });

  test('evaluate: an argument in, a value out, promises awaited, exceptions as errors', async () => {
    const page = await engine!.newPage();
    try {
      await page.goto(pages.page('/evaluate.html', html));
      expect(await page.evaluate((o) => ({ sum: o.a + o.b, text: `${o.s}!` }), { a: 1, b: 2, s: 'é𝄞' })).toEqual({ sum: 3, text: 'é𝄞!' });
      expect(await page.evaluate(() => new Promise((r) => setTimeout(() => r([1, null, 'x']), 20)))).toEqual([1, null, 'x']);
      expect(await page.evaluate(() => undefined)).toBeUndefined();
      await expect(page.evaluate(() => JSON.parse('{'))).rejects.toThrow(/in the page: SyntaxError/);
      expect(await page.url()).toBe(`${pages.origin}/evaluate.html`);
    } finally {
      await page.close();
    }
  });

  test('waitFor resolves once the condition holds, and rejects at its bound', async () => {
    const page = await engine!.newPage();
    try {
      await page.goto(pages.page('/wait.html', html));
      await page.evaluate(() => {
        setTimeout(() => ((window as any).later = true), 100);
      });
      await page.waitFor(() => (window as any).later === true);
      await expect(page.waitFor(() => (window as any).never === true, undefined, 200)).rejects.toThrow(
        /not true in the page within 200 ms/,
      );
    } finally {
      await page.close();
    }
  });

  test('the console: what the page logged, with the method it used', async () => {
    const page = await engine!.newPage();
    try {
      await page.goto(pages.page('/console.html', html));
      await page.evaluate(() => console.log('and from evaluate'));
      expect(await page.console()).toEqual([
        { type: 'warn', text: 'from the page 42' },
        { type: 'log', text: 'and from evaluate' },
      ]);
    } finally {
      await page.close();
    }
  });

  test("cookies: the names the page's jar holds for a URL, of its host and path only", async () => {
    const page = await engine!.newPage();
    try {
      const set = "document.cookie = 'b=1; path=/'; document.cookie = 'a=1; path=/'; document.cookie = 'deep=1; path=/deeper';";
      await page.goto(pages.page('/cookies.html', `<!doctype html><script>${set}</script>`));
      expect(await page.cookies(`${pages.origin}/any`)).toEqual(['a', 'b']);
      expect(await page.cookies(`${pages.origin}/deeper/x`)).toEqual(['a', 'b', 'deep']);
      expect(await page.cookies(pages.origin.replace('localhost', '127.0.0.1'))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  test('two pages at once keep their own state', async () => {
    const [a, b] = [await engine!.newPage(), await engine!.newPage()];
    try {
      await a.goto(pages.page('/a.html', html));
      await b.goto(pages.page('/b.html', html));
      await Promise.all([a.evaluate(() => ((window as any).mine = 'a')), b.evaluate(() => ((window as any).mine = 'b'))]);
      expect(await Promise.all([a.evaluate(() => (window as any).mine), b.evaluate(() => (window as any).mine)])).toEqual(['a', 'b']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('closing it leaves none of its processes running', async () => {
    expect(started.length).toBeGreaterThan(0);
    const descendants = (pids: number[]): number[] => pids.flatMap((pid) => [pid, ...descendants(childrenOf(pid))]);
    const tree = descendants(started);
    const left = () => tree.filter(alive).map((pid) => `${pid} ${commandOf(pid)}`);
    await engine!.close();
    engine = undefined;
    // the browser's own helpers (renderers, GPU, network processes) end once their parent has gone
    await until(() => left().length === 0, 10_000, 'every process of the engine gone').catch((err: Error) => {
      throw new Error(`${err.message}: ${left().join(', ')} left`);
    });
  });
});

describe.each(enginesToRun(ALL_ENGINES))('%s behind a proxy', (name) => {
  let squid: Squid | undefined;
  let up: Upstream | undefined;
  let engine: Engine | undefined;
  let pages: PageServer | undefined;
  beforeAll(async () => {
    [squid, up] = await Promise.all([startSquid({ connect: 'any' }), startUpstream()]);
    engine = await launchEngine(name, { proxy: squid.url });
    pages = await startPageServer({ prelude: engine.prelude });
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await Promise.all([pages?.close(), squid?.close(), up?.close()]);
  });

  test('every request goes through it, loopback ones too: the page, a fetch, a WebSocket', async () => {
    const page = await engine!.newPage();
    try {
      const url = pages!.page('/proxied.html', '<!doctype html><title>proxied</title>');
      await page.goto(url);
      expect(await page.evaluate((u) => fetch(u).then((r) => r.status), `${pages!.origin}/missing`)).toBe(404);
      const before = up!.origins.length;
      // whatever the engine's own socket makes of the proxy, it asks the proxy: never the upstream itself
      await page.evaluate(
        (u) =>
          new Promise((resolve) => {
            const ws = new WebSocket(u);
            ws.onopen = () => ws.close();
            ws.onclose = resolve;
          }),
        up!.url,
      );
      const target = `127.0.0.1:${up!.port}`;
      await until(() => [...squid!.connects(), ...squid!.upgrades()].includes(target), 20_000, 'the WebSocket in the access log');
      const log = squid!.accessLog();
      expect(log.some((l) => l.includes(` GET ${url} `))).toBe(true);
      expect(log.some((l) => l.includes(` GET ${pages!.origin}/missing `))).toBe(true);
      // the upstream saw the socket only where it came through the proxy's tunnel
      expect(up!.origins.length - before).toBe(squid!.connects().includes(target) ? 1 : 0);
    } finally {
      await page.close();
    }
  });
});
