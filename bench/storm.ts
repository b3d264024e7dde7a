/**
 * The reconnect storm (BENCH_ONLY=storm): a relay holding BENCH_STORM sockets (5,000) is killed,
 * and every page re-creates at once through two routers onto the two relays left.
 *
 * A page here is what polysocket.js and an application reconnecting on `close` do, on the wire:
 * it holds a long-poll; when polls fail it retries with polysocket.js's backoff (100 ms doubling,
 * at most 5 s) until `giveUp` has passed since the first failure, then the socket is closed (1006)
 * and the page re-creates at once; a refused or failed create is retried with the same backoff.
 * Reported: when pages learned (set by giveUp, a client setting), how long each re-create took
 * from then, the whole storm from the kill to the last page open, creates/s, the refusals, the
 * spread over the relays left, and the routers' CPU per create.
 *
 * Then the routers' memory: one router, after a warm-up, makes ROUTER_CREATES creates (each
 * socket left at once, so the relay holds none), its heap read after a full GC at every quarter.
 */
import { randomBytes } from 'node:crypto';
import { httpRequest } from './clients/client';
import { collectGarbage, heapUsedBytes, inspectable } from './heap';
import { cpuMs, percentile } from './stats';
import { polysocket, type Proc, server, stop } from '../test/harness/processes';
import { until } from '../test/harness/until';

export interface StormReport {
  sockets: number;
  giveUpMs: number;
  /** kill → each page closed its socket (polysocket.js's giveUp) */
  learnedMs: { first: number; last: number };
  /** a page's close → its new socket open */
  recreateMs: { p50: number; p99: number; max: number };
  /** kill → the last page open again */
  allOpenMs: number;
  /** first re-create sent → last page open */
  stormMs: number;
  createsPerSec: number;
  refused: Record<string, number>;
  perRelay: Record<string, number>;
  /** both routers' CPU over the storm, per create they answered (refusals included) */
  routerCpuUsPerCreate: number;
}

export interface RouterMemory {
  creates: number;
  /** [creates so far, heap used KB after a full GC] */
  heapKb: [number, number][];
  createsPerSec: number;
  routerCpuUsPerCreate: number;
}

const BACKOFF_MAX_MS = 5000;
const backoff = (failures: number) => Math.min(BACKOFF_MAX_MS, 100 * 2 ** failures);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cpuUs = (pid: number) => cpuMs(pid) * 1000;

class StormPage {
  url = '';
  socket = '';
  relayPort = 0;
  closedAt = 0;
  openedAt = 0;
  private alive = true;

  constructor(
    private readonly router: () => string,
    private readonly target: string,
    private readonly giveUpMs: number,
    private readonly refused: Record<string, number>,
  ) {}

  /** /create until it succeeds, backing off as polysocket.js does on failures. */
  async open(deadline: number): Promise<void> {
    for (let failures = 0; Date.now() < deadline; failures++) {
      const a = await httpRequest(`${this.router()}/create?from=storm&target=${encodeURIComponent(this.target)}`, { timeoutMs: 30_000 })
        .then((r) => JSON.parse(r.text))
        .catch((err: Error) => ({ ok: false, error: `network: ${err.message}` }));
      if (a.ok) {
        this.url = a.url;
        this.socket = a.socket;
        this.relayPort = Number(new URL(a.url).port);
        this.openedAt = Date.now();
        void this.poll();
        return;
      }
      this.refused[a.error] = (this.refused[a.error] ?? 0) + 1;
      await sleep(backoff(failures));
    }
    throw new Error('a page could not re-create before the deadline');
  }

  /** Long-polls; on failures retries with backoff until giveUp, then the socket is closed. */
  private async poll(): Promise<void> {
    const { url, socket } = this;
    let ack = 0;
    let failingSince = 0;
    for (let failures = 0; this.alive && this.socket === socket; ) {
      const a = await httpRequest(`${url}/j/${socket}?ttl=25000&ack=${ack}`, { timeoutMs: 35_000 }).catch(() => undefined);
      if (a && a.status === 200) {
        failures = 0;
        failingSince = 0;
        const body = JSON.parse(a.text);
        for (const m of body.messages ?? []) if (m.seq > ack) ack = m.seq;
        continue;
      }
      const now = Date.now();
      failingSince ||= now;
      if (now - failingSince > this.giveUpMs) {
        this.closedAt = now;
        this.socket = '';
        return;
      }
      await sleep(backoff(failures++));
    }
  }

  stop(): void {
    this.alive = false;
  }
}

/** Runs `work` for indices [0, count) with at most `parallel` at once. */
async function inParallel(count: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

export async function reconnectStorm(redisUrl: string, sockets: number, giveUpMs = 5000): Promise<StormReport> {
  const env = { REDIS_URL: redisUrl, STORE_PREFIX: `psbench:${randomBytes(4).toString('hex')}:storm:`, MAX_SOCKETS: String(2 * sockets) };
  const up = await server('upstream');
  const target = `ws://127.0.0.1:${up.port}/`;
  const doomed = await polysocket('relay', env);
  const routers = [await polysocket('router', env), await polysocket('router', env)];
  const procs: Proc[] = [up, doomed, ...routers];
  const pages: StormPage[] = [];
  try {
    let turn = 0;
    // round-robin DNS over the two routers
    const router = () => `http://localhost:${routers[turn++ % 2].port}`;
    const refused: Record<string, number> = {};
    for (let i = 0; i < sockets; i++) pages.push(new StormPage(router, target, giveUpMs, refused));
    await inParallel(sockets, 64, (i) => pages[i].open(Date.now() + 120_000));
    if (pages.some((p) => p.relayPort !== doomed.port)) throw new Error('a socket was placed off the relay to be killed');
    for (const k in refused) delete refused[k];

    const survivors = [await polysocket('relay', env), await polysocket('relay', env)];
    procs.push(...survivors);
    const cpuBefore = routers.reduce((s, r) => s + cpuUs(r.pid), 0);
    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');

    // Every page learns by itself (its polls fail) and re-creates at once.
    await until(() => pages.every((p) => p.closedAt > 0), giveUpMs + 60_000, 'every page learning its relay is gone');
    await Promise.all(pages.map((p) => p.open(Date.now() + 120_000)));
    const cpu = routers.reduce((s, r) => s + cpuUs(r.pid), 0) - cpuBefore;

    const learned = pages.map((p) => p.closedAt - killedAt).sort((a, b) => a - b);
    const recreate = pages.map((p) => p.openedAt - p.closedAt).sort((a, b) => a - b);
    const firstTry = Math.min(...pages.map((p) => p.closedAt));
    const lastOpen = Math.max(...pages.map((p) => p.openedAt));
    const attempts = sockets + Object.values(refused).reduce((a, b) => a + b, 0);
    const perRelay: Record<string, number> = {};
    survivors.forEach((r, i) => {
      perRelay[`relay ${i + 1}`] = pages.filter((p) => p.relayPort === r.port).length;
    });
    return {
      sockets,
      giveUpMs,
      learnedMs: { first: learned[0], last: learned[learned.length - 1] },
      recreateMs: { p50: percentile(recreate, 50), p99: percentile(recreate, 99), max: recreate[recreate.length - 1] },
      allOpenMs: lastOpen - killedAt,
      stormMs: lastOpen - firstTry,
      createsPerSec: (sockets * 1000) / Math.max(1, lastOpen - firstTry),
      refused,
      perRelay,
      routerCpuUsPerCreate: cpu / attempts,
    };
  } finally {
    pages.forEach((p) => p.stop());
    procs.forEach(stop);
  }
}

/** One router's heap after `creates` creates, each socket left at once (t=l) so the relay holds none. */
export async function routerMemory(redisUrl: string, creates: number): Promise<RouterMemory> {
  const env = { REDIS_URL: redisUrl, STORE_PREFIX: `psbench:${randomBytes(4).toString('hex')}:creates:` };
  const inspect = await inspectable();
  const up = await server('upstream');
  const relay = await polysocket('relay', env);
  const router = await polysocket('router', env, undefined, inspect.args);
  const target = encodeURIComponent(`ws://127.0.0.1:${up.port}/`);
  try {
    const one = async () => {
      const a = JSON.parse((await httpRequest(`http://localhost:${router.port}/create?from=mem&target=${target}`)).text);
      if (!a.ok) throw new Error(`create: ${a.error}`);
      await httpRequest(`${a.url}/s/${a.socket}?t=l`);
    };
    const heapKb = async () => {
      await collectGarbage(inspect.port);
      return (await heapUsedBytes(inspect.port)) / 1024;
    };
    await inParallel(2000, 32, one); // warm-up: V8's code, the pools, Redis scripts loaded
    const points: [number, number][] = [[0, await heapKb()]];
    const cpuBefore = cpuUs(router.pid);
    let busyMs = 0;
    for (let q = 1; q <= 4; q++) {
      const t = Date.now();
      await inParallel(creates / 4, 32, one);
      busyMs += Date.now() - t;
      points.push([(q * creates) / 4, await heapKb()]);
    }
    return {
      creates,
      heapKb: points,
      createsPerSec: (creates * 1000) / busyMs,
      routerCpuUsPerCreate: (cpuUs(router.pid) - cpuBefore) / creates,
    };
  } finally {
    [up, relay, router].forEach(stop);
  }
}
