/**
 * The status page and `polysocket status` on a split deployment: two routers, two relays (real
 * processes, real Redis), load put on it. The numbers move and agree with /metrics; a killed relay
 * turns stale, then disappears. The page's screenshot lands in build/screenshots/status.png (the
 * README shows a copy, docs/status.png).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CLI, ROOT, type RoleProcess, spawnRole } from '../harness/processes';
import { until } from '../harness/until';
import { launchChromium } from '../helpers/browser';
import { REDIS_URL, uniquePrefix } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, type Opened, request, sendGet } from '../helpers/wire';

let browser: Browser;
let up: Upstream;
const procs: Record<string, RoleProcess> = {};

beforeAll(async () => {
  [browser, up] = await Promise.all([launchChromium(), startUpstream()]);
  const env = {
    REDIS_URL,
    STORE_PREFIX: uniquePrefix('status'),
    HEARTBEAT_MS: '200',
    RELAY_TTL_MS: '6000',
    AUTH: 'none',
    ALLOW_TARGETS: '127.0.0.1',
  };
  for (const id of ['relay1', 'relay2']) procs[id] = await spawnRole('relay', { ...env, RELAY_ID: id });
  for (const id of ['router1', 'router2']) procs[id] = await spawnRole('router', env);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(Object.values(procs).map((p) => p.kill('SIGKILL')));
  await up?.close();
});

const admin = (p: RoleProcess) => `http://127.0.0.1:${p.adminPort}`;

/** The sum of one metric (the samples whose labels contain `having`) over the given processes' /metrics. */
async function metricSum(ps: RoleProcess[], name: string, having = ''): Promise<number> {
  let sum = 0;
  for (const p of ps) {
    for (const m of (await request(`${admin(p)}/metrics`)).text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))) {
      if ((m[1] ?? '').includes(having)) sum += Number(m[2]);
    }
  }
  return sum;
}

const total = (page: Page, name: string) =>
  page
    .locator(`[data-total="${name}"] b`)
    .textContent()
    .then((t) => Number((t ?? '').replace(/,/g, '')));
const relayState = (page: Page, id: string) =>
  page
    .locator(`tr[data-relay="${id}"] .badge`)
    .textContent()
    .catch(() => 'gone');

test('the page shows every relay and router, moves with load, matches /metrics, shows a dead relay go stale then away', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  try {
    await page.goto(`${admin(procs.router1)}/status`);
    await until(
      async () => (await page.locator('tr[data-relay]').count()) === 2 && (await page.locator('tr[data-router]').count()) === 2,
      15_000,
      'two relays, two routers',
    );

    // load: sockets through both routers, and a steady trickle of messages on one
    const sockets: Opened[] = [];
    for (let i = 0; i < 8; i++)
      sockets.push(await create(`http://localhost:${procs[i % 2 ? 'router2' : 'router1'].port}`, { target: up.url }));
    let n = 0;
    const trickle = setInterval(() => void sendGet(sockets[0], { d: `m${++n}`, n }).catch(() => undefined), 40);
    try {
      await until(async () => (await total(page, 'sockets open')) === 8, 15_000, 'eight sockets on the page');
      await until(async () => (await total(page, 'messages/s')) > 0, 15_000, 'messages per second moving');
    } finally {
      clearInterval(trickle);
    }
    // the same numbers as /metrics: sockets open per relay, creates per router
    expect(await total(page, 'sockets open')).toBe(await metricSum([procs.relay1, procs.relay2], 'polysocket_sockets_open'));
    const json = await (await fetch(`${admin(procs.router2)}/status.json`)).json();
    const byRouter = json.routers.reduce((a: number, r: { refused: Record<string, number> }) => a + Object.keys(r.refused).length, 0);
    expect(byRouter).toBe(0);
    expect(json.relays.reduce((a: number, r: { sockets: number }) => a + r.sockets, 0)).toBe(8);
    await until(
      async () => {
        const latest = await (await fetch(`${admin(procs.router2)}/status.json`)).json();
        const placed = latest.routers.reduce((a: number, r: { creates: number }) => a + r.creates, 0);
        return placed === (await metricSum([procs.router1, procs.router2], 'polysocket_creates_total', 'outcome="ok"'));
      },
      10_000,
      "the routers' creates as /metrics counts them",
    );
    // placement kept it even, and the page says so
    expect(json.relays.map((r: { share: number }) => r.share)).toEqual([0.5, 0.5]);
    // never a token, socket id, target or client address
    const text = JSON.stringify(json) + (await page.content());
    for (const s of sockets) expect(text).not.toContain(s.socket);
    expect(text).not.toContain(up.url);

    // the chart draws the last minutes: three series
    await until(async () => (await page.locator('#chart polyline').count()) === 3, 10_000, 'the chart drawn');
    const shots = path.join(ROOT, 'build', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'status.png'), fullPage: true });

    await procs.relay2.kill('SIGKILL');
    await until(async () => (await relayState(page, 'relay2')) === 'stale', 15_000, 'relay2 shown stale');
    await until(async () => (await page.locator('tr[data-relay="relay2"]').count()) === 0, 20_000, 'relay2 gone from the page');
    expect(await relayState(page, 'relay1')).toBe('live');
  } finally {
    await page.close();
  }
}, 90_000);

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test('polysocket status prints the same as a table, and as JSON', async () => {
  await create(`http://localhost:${procs.router1.port}`, { target: up.url });
  const table = await cli(['status', '--url', admin(procs.router2)]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^relays \d+, routers 2, sockets open \d+/);
  expect(table.stdout).toMatch(/^relay1 +\S+ +live +\d+/m);
  expect(table.stdout).toMatch(/^router-[0-9a-f]{8} +live/m);
  const json = await cli(['status', '--url', admin(procs.router2), '--json']);
  const view = JSON.parse(json.stdout);
  expect(view.routers).toHaveLength(2);
  expect(view.relays.find((r: { id: string }) => r.id === 'relay1').sockets).toBeGreaterThan(0);
  expect((await cli(['status', '--url', 'http://127.0.0.1:1'])).stderr).toMatch(
    /^polysocket: cannot read .* give a router's admin URL with --url\n$/,
  );
});
