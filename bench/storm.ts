/**
 * The reconnect storm (BENCH_ONLY=storm): a relay holding BENCH_STORM sockets (5,000) is killed,
 * and every page re-creates at once through two routers onto the two relays left.
 *
 * A page here is what polysocket.js and an application reconnecting on `close` do, on the wire:
 * it holds a long-poll; when polls fail it retries with polysocket.js's backoff (100 ms doubling,
 * at most 5 s) and, once a second, asks a router whether its relay run is alive (GET /alive,
 * PROTOCOL.md §2.1). When the router says it is not, or `giveUp` has passed since the first
 * failure, the socket is closed (1006) and the page re-creates at once; a refused or failed create
 * is retried with the same backoff. Reported: when pages learned (the relay's RELAY_TTL_MS, or
 * giveUp for pages the router never told), how long each re-create took from then, the whole storm
 * from the kill to the last page open, creates/s, the refusals, the spread over the relays left,
 * and the routers' CPU per create.
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
  /** kill → each page closed its socket */
  learnedMs: { first: number; last: number };
  /** pages that learned from the router (relay_gone) and from their own giveUp (connection_lost) */
  learnedBy: { relay_gone: number; connection_lost: number };
  /** a page's close → its new socket open */
  recreateMs: { p50: number; p99: number; max: number };
  /** kill → the last page open again */
  allOpenMs: number;
  /** first re-create sent → last page open */
  stormMs: number;
  createsPerSec: number;
  refused: Record<string, number>;
  perRelay: Record<string, number>;
  /** both routers' CPU from the first re-create to the last page open, per create they answered (refusals included) */
  routerCpuUsPerCreate: number;
  /** the two relays left: their CPU over the same span, per socket they opened */
  relayCpuUsPerOpen: number;
  /** /alive questions the pages asked before they learned, and both routers' CPU per question until then */
  aliveAsked: number;
  routerCpuUsPerAlive: number;
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
/** polysocket.js asks /alive at most once a second while its requests fail */
const ALIVE_EVERY_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cpuUs = (pid: number) => cpuMs(pid) * 1000;

/** /alive questions asked, by every page */
const asked = { count: 0 };

class StormPage {
  url = '';
  socket = '';
  relayPort = 0;
  closedAt = 0;
  openedAt = 0;
  closedBy: 'relay_gone' | 'connection_lost' | '' = '';
  private run = '';
  private failingSince = 0;
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
      const a = await this.createOnce().catch((err: Error) => ({ ok: false, error: `network: ${err.message}` }));
      if (a.ok) {
        this.url = a.url;
        this.socket = a.socket;
        this.run = a.run;
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

  /**
   * One /create. A kept-alive connection the router closed while idle is retried at once on a new
   * one, as browsers do for a request that never reached the server.
   */
  private async createOnce(): Promise<any> {
    const url = `${this.router()}/create?from=storm&target=${encodeURIComponent(this.target)}`;
    const r = await httpRequest(url, { timeoutMs: 30_000 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') throw err;
      return httpRequest(url, { timeoutMs: 30_000 });
    });
    return JSON.parse(r.text);
  }

  /** Long-polls; on failures retries with backoff, asking /alive, until the router says dead or giveUp. */
  private async poll(): Promise<void> {
    const { url, socket } = this;
    let ack = 0;
    for (let failures = 0; this.alive && this.socket === socket; ) {
      const a = await httpRequest(`${url}/j/${socket}?ttl=25000&ack=${ack}`, { timeoutMs: 35_000 }).catch(() => undefined);
      if (a && a.status === 200) {
        failures = 0;
        this.failingSince = 0;
        const body = JSON.parse(a.text);
        for (const m of body.messages ?? []) if (m.seq > ack) ack = m.seq;
        continue;
      }
      if (this.socket !== socket) return;
      const now = Date.now();
      if (!this.failingSince) {
        this.failingSince = now;
        void this.watch(socket);
      }
      if (now - this.failingSince > this.giveUpMs) return this.close('connection_lost');
      await sleep(backoff(failures++));
    }
  }

  /**
   * While requests fail, /alive questions that wait up to 5 s, one a second at most; `not alive`
   * closes the socket at once, as polysocket.js does.
   */
  private async watch(socket: string): Promise<void> {
    while (this.alive && this.socket === socket && this.failingSince) {
      asked.count++;
      const started = Date.now();
      const a = await httpRequest(`${this.router()}/alive?run=${this.run}&wait=5000`, { timeoutMs: 20_000 })
        .then((r) => JSON.parse(r.text))
        .catch(() => undefined);
      if (a?.ok && a.alive === false && this.socket === socket) return this.close('relay_gone');
      await sleep(Math.max(0, ALIVE_EVERY_MS - (Date.now() - started)));
    }
  }

  private close(by: 'relay_gone' | 'connection_lost'): void {
    this.closedAt = Date.now();
    this.closedBy = by;
    this.socket = '';
    this.failingSince = 0;
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

export async function reconnectStorm(redisUrl: string, sockets: number, giveUpMs = 30_000): Promise<StormReport> {
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
    asked.count = 0;
    await until(() => pages.every((p) => p.closedAt > 0), giveUpMs + 60_000, 'every page learning its relay is gone');
    const cpuLearned = routers.reduce((s, r) => s + cpuUs(r.pid), 0);
    const relayCpuLearned = survivors.reduce((s, r) => s + cpuUs(r.pid), 0);
    const aliveAsked = asked.count;
    await Promise.all(pages.map((p) => p.open(Date.now() + 120_000)));
    const cpu = routers.reduce((s, r) => s + cpuUs(r.pid), 0) - cpuLearned;
    const relayCpu = survivors.reduce((s, r) => s + cpuUs(r.pid), 0) - relayCpuLearned;

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
      learnedBy: {
        relay_gone: pages.filter((p) => p.closedBy === 'relay_gone').length,
        connection_lost: pages.filter((p) => p.closedBy === 'connection_lost').length,
      },
      recreateMs: { p50: percentile(recreate, 50), p99: percentile(recreate, 99), max: recreate[recreate.length - 1] },
      allOpenMs: lastOpen - killedAt,
      stormMs: lastOpen - firstTry,
      createsPerSec: (sockets * 1000) / Math.max(1, lastOpen - firstTry),
      refused,
      perRelay,
      routerCpuUsPerCreate: cpu / attempts,
      relayCpuUsPerOpen: relayCpu / sockets,
      aliveAsked,
      routerCpuUsPerAlive: (cpuLearned - cpuBefore) / Math.max(1, aliveAsked),
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
