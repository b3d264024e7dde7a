/**
 * A page whose relay is killed learns it in seconds, from the router (PROTOCOL.md §2.1), not
 * after polysocket.js's giveUp. Debian's chromium, a real router, a real relay process over the
 * real Redis, killed with SIGKILL. giveUp is set far beyond the test's bound, so only the router's
 * answer can close the socket with `relay_gone`.
 */
import type { Browser, Page } from 'playwright-core';
import type { RoleProcess } from '../harness/processes';
import { launchChromium, startPageServer, type PageServer } from '../helpers/browser';
import { relayProcess, split, uniquePrefix, type Split } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';

let browser: Browser;
let pages: PageServer;
let up: Upstream;
let svc: Split;
let page: Page;
let relay: RoleProcess;
const prefix = uniquePrefix('relay-death');

beforeAll(async () => {
  [browser, pages, up] = await Promise.all([launchChromium(), startPageServer(), startUpstream()]);
  svc = await split({ routers: 1, relays: 0, prefix });
  relay = await relayProcess(prefix, 'doomed');
  page = await browser.newPage();
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
}, 30_000);

afterAll(async () => {
  await relay?.kill('SIGKILL');
  await browser?.close();
  await Promise.all([svc?.close(), pages?.close(), up?.close()]);
});

test('a socket on a killed relay closes 1006 with errorCode relay_gone', async () => {
  await page.evaluate(
    (url) =>
      new Promise<void>((resolve, reject) => {
        const ws = new (window as any).WebSocket(url);
        (window as any).ws = ws;
        (window as any).socketClosed = new Promise((r) => {
          ws.onclose = (e: any) => r({ code: e.code, wasClean: e.wasClean, errorCode: ws.errorCode });
        });
        ws.onopen = () => ws.send('before');
        ws.onmessage = (e: any) => (e.data === 'before' ? resolve() : reject(new Error(`unexpected ${e.data}`)));
        ws.onerror = () => reject(new Error('error before the relay died'));
      }),
    up.url,
  );
  await relay.kill('SIGKILL');
  const closed = await page.evaluate(() => (window as any).socketClosed);
  expect(closed).toEqual({ code: 1006, wasClean: false, errorCode: 'relay_gone' });
});
