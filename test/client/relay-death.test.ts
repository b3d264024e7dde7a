/**
 * A page whose relay is killed learns it in seconds, from the router (PROTOCOL.md §2.1), not
 * after polysocket.js's giveUp. In each engine (test/helpers/engines: Chromium, Firefox, WebKit;
 * all three by default, as they cost little: 2.6 s for Chromium alone, 7.8 s for the three;
 * POLYSOCKET_ENGINES to choose), a real router, a real relay process over the real Redis, killed
 * with SIGKILL. giveUp is set far beyond the test's bound, so only the router's answer can close
 * the socket with `relay_gone`.
 */
import type { RoleProcess } from '../harness/processes';
import { type PageServer, startPageServer } from '../helpers/browser';
import { ALL_ENGINES, type Engine, type EnginePage, enginesToRun, launchEngine } from '../helpers/engines';
import { relayProcess, type Split, split, uniquePrefix } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';

let up: Upstream;
let svc: Split;

beforeAll(async () => {
  up = await startUpstream();
  svc = await split({ routers: 1, relays: 0, prefix: uniquePrefix('relay-death') });
}, 30_000);

afterAll(async () => {
  await Promise.all([svc?.close(), up?.close()]);
});

describe.each(enginesToRun(ALL_ENGINES))('%s', (name) => {
  let engine: Engine | undefined;
  let pages: PageServer | undefined;
  let page: EnginePage | undefined;
  let relay: RoleProcess | undefined;

  beforeAll(async () => {
    engine = await launchEngine(name);
    pages = await startPageServer({ prelude: engine.prelude });
    // a relay of this engine's own: the one its socket is placed on, and the only one alive
    relay = await relayProcess(svc.prefix, `doomed-${name}`);
    page = await engine.newPage();
    const router = svc.routers[0].base;
    await page.goto(
      pages.page(
        '/death.html',
        `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script>delete window.WebSocket; window.POLYSOCKET_CONFIG = { giveUp: 600000 };</script>
<script src="${router}/polysocket.js" data-router="${router}"></script>
</body></html>`,
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await relay?.kill('SIGKILL');
    await page?.close();
    await engine?.close();
    await pages?.close();
  });

  test('a socket on a killed relay closes 1006 with errorCode relay_gone', async () => {
    await page!.evaluate(
      (url) =>
        new Promise<void>((resolve, reject) => {
          const ws = new (window as any).WebSocket(url);
          (window as any).socketClosed = null;
          ws.onclose = (e: any) => ((window as any).socketClosed = { code: e.code, wasClean: e.wasClean, errorCode: ws.errorCode });
          ws.onopen = () => ws.send('before');
          ws.onmessage = (e: any) => (e.data === 'before' ? resolve() : reject(new Error(`unexpected ${e.data}`)));
          ws.onerror = () => reject(new Error('error before the relay died'));
        }),
      up.url,
    );
    await relay!.kill('SIGKILL');
    // seconds, from the router: giveUp (10 minutes) is far beyond this bound
    await page!.waitFor(() => (window as any).socketClosed !== null, undefined, 15_000);
    expect(await page!.evaluate(() => (window as any).socketClosed)).toEqual({ code: 1006, wasClean: false, errorCode: 'relay_gone' });
  }, 30_000);
});
