/**
 * npm run bench: polysocket against the physical limit (ws-direct) and the polling peers
 * (SockJS xhr-polling, Engine.IO polling), all in one run, all on loopback. Servers run in
 * child processes (their RSS and CPU are their own); this process is the load generator.
 * Every loop is bounded in count and time. Prints a table, writes bench/results/latest.json.
 *
 *   BENCH_QUICK=1 npm run bench     smaller counts, for a smoke run
 *   BENCH_ONLY=heavy npm run bench  only the worst event-loop delay under the heaviest requests
 *   BENCH_ONLY=browser npm run bench  only the page-level rows, in each engine (Chromium, Firefox ESR, WebKitGTK;
 *                                   POLYSOCKET_ENGINES=chromium picks some)
 *   BENCH_ONLY=proxy npm run bench  only open times behind proxies on a 100 ms link (fallback mode, peers)
 *   BENCH_ONLY=farlink npm run bench  only pushes, echoes and opens through a proxy 0, 100 and 300 ms away
 *   BENCH_ONLY=storm npm run bench  the reconnect storm (BENCH_STORM sockets on a relay killed)
 *                                   and one router's heap over BENCH_CREATES creates
 *   BENCH_ONLY=idle BENCH_IDLE=1000,9000 npm run bench  one relay with that many idle sockets
 *     (BENCH_LISTEN_BACKLOG=16 shrinks its accept queue, to show what a full one does)
 *   BENCH_BASELINE=/path/to/other/checkout npm run bench
 *                                   adds that checkout's polysocket (built there) as rows of
 *                                   their own, so a change is compared with its parent in one run
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agent, httpRequest, type BenchClient } from './clients/client';
import { connectEngineio } from './clients/engineio';
import { connectPolysocket } from './clients/polysocket';
import { connectSockjs } from './clients/sockjs';
import { connectWs } from './clients/ws-direct';
import { withTimeout } from '../shared/timeout';
import { collectGarbage, inspectable } from './heap';
import { type EngineRows, browserRows } from './browser';
import { ALL_ENGINES, enginesToRun } from '../test/helpers/engines';
import { proxyOpenRows, proxyOpenTable } from './proxy-open';
import { farLinkRows, farLinkTable } from './far-link';
import { type HeavyRow, heavyRequests } from './heavy';
import { cpuMs, percentile } from './stats';
import { reconnectStorm, routerMemory } from './storm';
import { type TcpCounters, tcpCounters, tcpDelta } from './tcp-counters';
import { CLI, children, polysocket, ROOT, rssKb, server, stop, type Proc } from '../test/harness/processes';

const QUICK = process.env.BENCH_QUICK === '1';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = {
  rtt: QUICK ? 300 : 3000,
  warmEchoes: QUICK ? 200 : 1000,
  burst: QUICK ? 2000 : 20_000,
  push: QUICK ? 5000 : 50_000,
  creates: QUICK ? 100 : 500,
  createsParallel: QUICK ? 400 : 2000,
  idle: process.env.BENCH_IDLE ? process.env.BENCH_IDLE.split(',').map(Number) : QUICK ? [200, 500] : [1000, 5000],
  storm: Number(process.env.BENCH_STORM ?? (QUICK ? 500 : 5000)),
  routerCreates: Number(process.env.BENCH_CREATES ?? (QUICK ? 4000 : 100_000)),
};
const PAYLOAD = 'x'.repeat(56); // + an 8-character counter = 64 bytes

/* ---------- measuring ---------- */

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(p, ms, () => new Error(`${what}: no result within ${ms} ms`));
}

const TRIALS = 3;
const ROUNDS = 5;

/** One row's servers, up for the whole run, and how to reach them. */
interface Subject {
  row: Row;
  procs: Proc[];
  /** whose CPU counts as the server's (for polysocket the relay, not the upstream) */
  serverPids: number[];
  connect(): Promise<BenchClient>;
  /** what else the row measures with these servers, after the traffic: creates */
  more?(): Promise<void>;
  /** idle sockets' memory, on fresh servers of its own (inspectable, so a full GC precedes each RSS reading) */
  idle?(): Promise<void>;
}

/** A fresh server of `kind` holding idle connections of `connect` while `idle` reads its RSS. */
async function idleOn(row: Row, kind: string, connect: (port: number) => Promise<BenchClient>): Promise<void> {
  const inspect = await inspectable();
  const p = await server(kind, {}, inspect.args);
  try {
    (
      await idle(row, { pid: p.pid, inspectPort: inspect.port }, async () => {
        const c = await connect(p.port);
        return () => void c.close();
      })
    ).forEach((stopOne) => stopOne());
  } finally {
    stop(p);
  }
}

function median<T>(xs: T[], key: (x: T) => number): T {
  return [...xs].sort((x, y) => key(x) - key(y))[Math.floor(xs.length / 2)];
}

/** Resolves once `count` more messages arrived. */
function receive(client: BenchClient, count: number): Promise<void> {
  let left = count;
  return new Promise((resolve) => {
    client.onMessage = () => {
      if (--left === 0) resolve();
    };
  });
}

/** `count` echo round trips, one message in flight: the times (ms) and the servers' CPU (ms). */
async function echoSamples(client: BenchClient, serverPids: number[], count: number): Promise<{ times: number[]; cpuMs: number }> {
  const times: number[] = [];
  const cpu0 = serverPids.reduce((s, pid) => s + cpuMs(pid), 0);
  for (let i = 0; i < count; i++) {
    const got = receive(client, 1);
    const t0 = process.hrtime.bigint();
    client.send([`${PAYLOAD}${String(i).padStart(8, '0')}`]);
    await within(got, 10_000, 'echo');
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { times, cpuMs: serverPids.reduce((s, pid) => s + cpuMs(pid), 0) - cpu0 };
}

async function burst(client: BenchClient, serverPids: number[]): Promise<{ rate: number; cpuPer1k: number }> {
  const messages = Array.from({ length: N.burst }, (_v, i) => `${PAYLOAD}${String(i).padStart(8, '0')}`);
  const got = receive(client, N.burst);
  const cpu0 = serverPids.reduce((s, pid) => s + cpuMs(pid), 0);
  const t0 = process.hrtime.bigint();
  client.send(messages);
  await within(got, 120_000, 'burst');
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = serverPids.reduce((s, pid) => s + cpuMs(pid), 0) - cpu0;
  return { rate: N.burst / secs, cpuPer1k: cpu / ((N.burst * 2) / 1000) };
}

async function push(client: BenchClient): Promise<number> {
  const got = receive(client, N.push);
  const t0 = process.hrtime.bigint();
  client.send([`push:${N.push}`]);
  await within(got, 120_000, 'push');
  return N.push / (Number(process.hrtime.bigint() - t0) / 1e9);
}

interface Row {
  name: string;
  echoP50Ms?: number;
  echoP99Ms?: number;
  /** server CPU per echo round trip (for polysocket the relay's, not the upstream's) */
  echoCpuUs?: number;
  burstPerSec?: number;
  pushPerSec?: number;
  cpuMsPer1kMessages?: number;
  idleKbPerSocket?: Record<string, number>;
  createP50Ms?: number;
  createP99Ms?: number;
  createsPerSec?: number;
  heartbeats?: { answered: number; lateOver1s: number; maxLateMs: number; lastRound?: number; tcp?: TcpCounters };
  error?: string;
}

/** One message per request, and batches: every path the figures take, run before timing it. */
async function warmUp(client: BenchClient): Promise<void> {
  for (let i = 0; i < N.warmEchoes; i++) {
    const got = receive(client, 1);
    client.send(['warm-up']);
    await within(got, 10_000, 'warm-up');
  }
  const warm = receive(client, 200);
  for (let i = 0; i < 200; i++) client.send(['warm-up']);
  await within(warm, 20_000, 'warm-up');
}

/**
 * Every subject's traffic figures, taken round-robin: echo round trips in ROUNDS slices, then
 * TRIALS rounds of a burst and a push each (each round starting with another subject). This VM's
 * speed drifts over minutes, and the drift must hit all rows alike. Throughput runs are short,
 * so their figures are the median of the TRIALS runs.
 */
async function traffic(subjects: Subject[]): Promise<void> {
  interface Live {
    s: Subject;
    client: BenchClient;
    times: number[];
    cpuMs: number;
    bursts: { rate: number; cpuPer1k: number }[];
    pushes: number[];
  }
  const live: Live[] = [];
  for (const s of subjects) {
    try {
      const client = await s.connect();
      await warmUp(client);
      live.push({ s, client, times: [], cpuMs: 0, bursts: [], pushes: [] });
    } catch (err) {
      s.row.error = `traffic: ${(err as Error).message}`;
    }
  }
  const eachInTurn = async (rounds: number, what: (l: Live) => Promise<void>) => {
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < live.length; k++) {
        const l = live[(round + k) % live.length];
        if (l.s.row.error) continue;
        try {
          await what(l);
        } catch (err) {
          l.s.row.error = `traffic: ${(err as Error).message}`;
        }
      }
    }
  };
  const slice = Math.ceil(N.rtt / ROUNDS);
  await eachInTurn(ROUNDS, async (l) => {
    const got = await echoSamples(l.client, l.s.serverPids, slice);
    l.times.push(...got.times);
    l.cpuMs += got.cpuMs;
  });
  await eachInTurn(TRIALS, async (l) => {
    l.bursts.push(await burst(l.client, l.s.serverPids));
    l.pushes.push(await push(l.client));
  });
  for (const l of live) {
    await l.client.close();
    if (l.s.row.error) continue;
    const row = l.s.row;
    l.times.sort((a, b) => a - b);
    row.echoP50Ms = percentile(l.times, 50);
    row.echoP99Ms = percentile(l.times, 99);
    row.echoCpuUs = (l.cpuMs * 1000) / l.times.length;
    const b = median(l.bursts, (x) => x.rate);
    row.burstPerSec = b.rate;
    row.cpuMsPer1kMessages = b.cpuPer1k;
    row.pushPerSec = median(l.pushes, (x) => x);
  }
}

async function creates(row: Row, routerBase: string, target: string): Promise<void> {
  const times: number[] = [];
  const opened: { socket: string; url: string }[] = [];
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const a = await httpRequest(`${routerBase}/create?from=bench&target=${encodeURIComponent(target)}`);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const body = JSON.parse(a.text);
    if (!body.ok) throw new Error(`create: ${body.error}`);
    opened.push(body);
    return ms;
  };
  for (let i = 0; i < N.creates; i++) times.push(await once());
  times.sort((a, b) => a - b);
  row.createP50Ms = percentile(times, 50);
  row.createP99Ms = percentile(times, 99);
  let next = 0;
  const t0 = process.hrtime.bigint();
  await within(
    Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next++ < N.createsParallel) await once();
      }),
    ),
    120_000,
    'creates',
  );
  row.createsPerSec = N.createsParallel / (Number(process.hrtime.bigint() - t0) / 1e9);
  await Promise.all(opened.map((o) => httpRequest(`${o.url}/s/${o.socket}?t=c`).catch(() => undefined)));
}

/* ---------- idle sockets: memory, and heartbeats on time ---------- */

/** A server process whose RSS the idle phase reads (after a forced full GC). */
interface Measured {
  pid: number;
  inspectPort: number;
}

async function settle(p: Measured): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000));
  await collectGarbage(p.inspectPort);
  await new Promise((r) => setTimeout(r, 500));
  return rssKb(p.pid);
}

/**
 * Opens sockets in steps (N.idle), each holding a pending poll (or an open connection), and reads
 * the server's RSS at each step: KB per socket from the start, and marginal KB per socket between
 * the steps (which leaves out heap the process grows once). Returns the closers.
 */
async function idle(row: Row, server: Measured, open: (i: number) => Promise<() => void>): Promise<(() => void)[]> {
  const stops: (() => void)[] = [];
  const base = await settle(server);
  row.idleKbPerSocket = {};
  let previous = { count: 0, rss: base };
  for (const count of N.idle) {
    let next = stops.length;
    await within(
      Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < count) stops.push(await open(next++));
        }),
      ),
      180_000,
      'opening idle sockets',
    );
    const rss = await settle(server);
    row.idleKbPerSocket[String(count)] = (rss - base) / count;
    if (previous.count) row.idleKbPerSocket[`${previous.count}→${count}`] = (rss - previous.rss) / (count - previous.count);
    previous = { count, rss };
  }
  return stops;
}

/** `whileIdle`: runs during the last heartbeat round, every idle socket open and polling (a busy socket's echoes). */
async function polysocketIdle(
  row: Row,
  routerBase: string,
  relay: Measured,
  target: string,
  whileIdle?: () => Promise<void>,
): Promise<void> {
  const ttl = 5000;
  const hb = { answered: 0, lateOver1s: 0, maxLateMs: 0 };
  const tcpBefore = tcpCounters();
  const stops = await idle(row, relay, async () => {
    const created = JSON.parse((await httpRequest(`${routerBase}/create?from=bench&target=${encodeURIComponent(target)}`)).text);
    if (!created.ok) throw new Error(`create: ${created.error}`);
    let on = true;
    (async () => {
      for (let i = 0; on && i < 1000; i++) {
        const t0 = Date.now();
        const a = await httpRequest(`${created.url}/j/${created.socket}?ttl=${ttl}&ack=0`).catch(() => undefined);
        if (!a || !on) return;
        if (a.text.includes('heartbeat')) {
          const late = Date.now() - t0 - ttl;
          hb.answered++;
          hb.maxLateMs = Math.max(hb.maxLateMs, late);
          if (late > 1000) hb.lateOver1s++;
        }
      }
    })();
    return () => {
      on = false;
    };
  });
  // one more full round of heartbeats with every socket open and polling
  const before = hb.answered;
  const round = new Promise((r) => setTimeout(r, ttl + 1500));
  await whileIdle?.();
  await round;
  stops.forEach((s) => s());
  row.heartbeats = { ...hb, lastRound: hb.answered - before, tcp: tcpDelta(tcpBefore) };
}

/**
 * One relay with as many idle sockets as BENCH_IDLE says (each an upstream connection and a held
 * poll: two files on the relay; a process may hold 20,000 here), their heartbeats, the memory per
 * socket, and the echo of one busy socket while all of them heartbeat.
 */
async function manyIdle(): Promise<string[]> {
  const inspect = await inspectable();
  const up = await server('upstream');
  const env = {
    REDIS_URL,
    STORE_PREFIX: `psbench:${randomBytes(4).toString('hex')}:idle:`,
    // BENCH_LISTEN_BACKLOG: the relay's accept queue, to show what a full one does to heartbeats
    ...(process.env.BENCH_LISTEN_BACKLOG ? { LISTEN_BACKLOG: process.env.BENCH_LISTEN_BACKLOG } : {}),
  };
  const relay = await polysocket('relay', env, undefined, inspect.args);
  const router = await polysocket('router', env);
  const row: Row = { name: `polysocket (split), ${N.idle.join(' then ')} idle sockets` };
  const routerBase = `http://localhost:${router.port}`;
  const target = `ws://127.0.0.1:${up.port}/`;
  const busy: number[] = [];
  try {
    const client = await connectPolysocket(routerBase, target);
    await polysocketIdle(row, routerBase, { pid: relay.pid, inspectPort: inspect.port }, target, async () => {
      for (let i = 0; i < 200; i++) {
        const t0 = process.hrtime.bigint();
        const got = receive(client, 1);
        client.send([PAYLOAD]);
        await within(got, 10_000, 'busy echo');
        busy.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    });
  } finally {
    [up, relay, router].forEach(stop);
  }
  busy.sort((a, b) => a - b);
  const hb = row.heartbeats;
  return [
    tableRow([
      'relay with idle sockets',
      'KB per socket',
      'heartbeats answered (last round)',
      'late > 1 s',
      'max lateness ms',
      'listen overflows / SYNs retransmitted',
      'busy socket echo p50 ms',
      'p99 ms',
    ]),
    '|---|---|---|---|---|---|---|---|',
    tableRow([
      row.name,
      Object.entries(row.idleKbPerSocket ?? {})
        .map(([k, v]) => `${fmt(v, 1)} @${k}`)
        .join(', '),
      hb ? `${hb.answered} (${hb.lastRound})` : '—',
      String(hb?.lateOver1s ?? '—'),
      String(hb?.maxLateMs ?? '—'),
      tcpCell(hb?.tcp),
      fmt(percentile(busy, 50), 3),
      fmt(percentile(busy, 99), 3),
    ]),
  ];
}

/* ---------- the run ---------- */

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'browser') {
    process.stdout.write(`${(await everyEngine()).flatMap((e) => [...browserTable(e), '']).join('\n')}`);
    return;
  }
  if (process.env.BENCH_ONLY === 'proxy') {
    process.stdout.write(`${proxyOpenTable(await proxyOpenRows()).join('\n')}\n`);
    return;
  }
  if (process.env.BENCH_ONLY === 'farlink') {
    process.stdout.write(`${(await farLinkEngines()).join('\n')}\n`);
    return;
  }
  if (process.env.BENCH_ONLY === 'idle') {
    process.stdout.write(`${(await manyIdle()).join('\n')}\n`);
    return;
  }
  if (process.env.BENCH_ONLY === 'storm') {
    process.stdout.write(`${(await stormTables()).join('\n')}\n`);
    return;
  }
  if (process.env.BENCH_ONLY === 'heavy') {
    process.stdout.write(`${heavyTable(await heavyRequests(REDIS_URL, `psbench:${randomBytes(4).toString('hex')}:heavy:`)).join('\n')}\n`);
    return;
  }
  const rows: Row[] = [];
  const row = (name: string) => {
    const r: Row = { name };
    rows.push(r);
    return r;
  };
  const attempt = async (r: Row, what: () => Promise<void>) => {
    try {
      await what();
    } catch (err) {
      r.error = (err as Error).message;
      process.stderr.write(`${r.name}: ${r.error}\n`);
    }
  };
  const prefix = `psbench:${randomBytes(4).toString('hex')}:`;
  const redis = (storePrefix: string) => ({ REDIS_URL, STORE_PREFIX: storePrefix });

  const subjects: Subject[] = [];
  process.stderr.write("starting every row's servers...\n");
  {
    const up = await server('upstream');
    const r = row('ws-direct');
    subjects.push({
      row: r,
      procs: [up],
      serverPids: [up.pid],
      connect: () => connectWs(`ws://127.0.0.1:${up.port}`),
      idle: () => idleOn(r, 'upstream', (port) => connectWs(`ws://127.0.0.1:${port}`)),
    });
  }
  const baseline = process.env.BENCH_BASELINE;
  const builds: [string, string][] = [['', CLI]];
  if (baseline) builds.push([', baseline', path.join(path.resolve(baseline), 'dist', 'bin', 'polysocket.js')]);
  for (const [label, cli] of builds)
    for (const mode of ['all-in-one', 'split'] as const) {
      const up = await server('upstream');
      const target = `ws://127.0.0.1:${up.port}/`;
      const procs: Proc[] = [up];
      let routerBase: string;
      let relayPid: number;
      if (mode === 'all-in-one') {
        const aio = await polysocket('start', {}, undefined, [], cli);
        procs.push(aio);
        routerBase = `http://localhost:${aio.port}`;
        relayPid = aio.pid;
      } else {
        const relay = await polysocket('relay', redis(`${prefix}${label ? 'base:' : ''}`), undefined, [], cli);
        const router = await polysocket('router', redis(`${prefix}${label ? 'base:' : ''}`), undefined, [], cli);
        procs.push(relay, router);
        routerBase = `http://localhost:${router.port}`;
        relayPid = relay.pid;
      }
      const r = row(`polysocket (${mode}${label})`);
      subjects.push({
        row: r,
        procs,
        serverPids: [relayPid],
        connect: () => connectPolysocket(routerBase, target),
        more: () => creates(r, routerBase, target),
        idle:
          mode === 'all-in-one' || label
            ? undefined
            : async () => {
                // a relay and router of their own (own key prefix: the router must place on this relay only)
                const inspect = await inspectable();
                const idleUp = await server('upstream');
                const fresh = redis(`${prefix}idle:`);
                const relay = await polysocket('relay', fresh, undefined, inspect.args);
                const router = await polysocket('router', fresh);
                try {
                  await polysocketIdle(
                    r,
                    `http://localhost:${router.port}`,
                    { pid: relay.pid, inspectPort: inspect.port },
                    `ws://127.0.0.1:${idleUp.port}/`,
                  );
                } finally {
                  [idleUp, relay, router].forEach(stop);
                }
              },
      });
    }
  {
    // The same extra hop with nothing of ours on it: separates what the structure costs from what we add.
    const up = await server('upstream');
    const bare = await server('bare-relay');
    subjects.push({
      row: row('bare relay (floor)'),
      procs: [up, bare],
      serverPids: [bare.pid],
      connect: () => connectPolysocket(`http://127.0.0.1:${bare.port}`, `ws://127.0.0.1:${up.port}/`),
    });
  }
  for (const [name, kind, connect] of [
    ['sockjs-xhr-polling', 'sockjs', connectSockjs],
    ['engineio-polling', 'engineio', connectEngineio],
  ] as const) {
    const p = await server(kind);
    const r = row(name);
    subjects.push({
      row: r,
      procs: [p],
      serverPids: [p.pid],
      connect: () => connect(`http://127.0.0.1:${p.port}`),
      idle: () => idleOn(r, kind, (port) => connect(`http://127.0.0.1:${port}`)),
    });
  }

  process.stderr.write(`traffic, all rows round-robin (${ROUNDS} echo rounds, ${TRIALS} burst and push rounds)...\n`);
  await traffic(subjects);
  for (const s of subjects) {
    process.stderr.write(`${s.row.name}: creates, idle sockets...\n`);
    if (s.more) await attempt(s.row, s.more);
    agent.destroy();
    s.procs.forEach(stop);
    if (s.idle) await attempt(s.row, s.idle);
    agent.destroy();
  }

  process.stderr.write('heaviest legal requests: worst event-loop delay on the relay...\n');
  const heavy = await heavyRequests(REDIS_URL, `${prefix}heavy:`);
  process.stderr.write('in the browser: echoes and bursts measured inside each engine...\n');
  const browser = await everyEngine();
  process.stderr.write('opens behind proxies on a 100 ms link, in Chromium...\n');
  const proxy = proxyOpenTable(await proxyOpenRows());
  const farLink = await farLinkEngines();
  process.stderr.write(`reconnect storm (${N.storm} sockets), then ${N.routerCreates} creates on one router...\n`);
  const storm = await stormTables();
  report(rows, heavy, browser, [...proxy, '', ...farLink, '', ...storm]);
}

/** The reconnect storm and the router's memory over many creates (bench/storm.ts), as tables. */
async function stormTables(): Promise<string[]> {
  const s = await reconnectStorm(REDIS_URL, N.storm);
  agent.destroy();
  const m = await routerMemory(REDIS_URL, N.routerCreates);
  agent.destroy();
  const refused = Object.entries(s.refused).map(([k, v]) => `${k} ${v}`);
  return [
    '| reconnect storm: a relay killed, 2 routers, 2 relays left | sockets | pages closed after, ms | learned from /alive / giveUp |' +
      ' re-create p50 / p99 / max ms | first re-create → last open ms | kill → last open ms | creates/s | refused, retried |' +
      " sockets per relay left | routers' CPU µs per create | relays' CPU µs per socket opened | /alive asked, routers' CPU µs each |",
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    tableRow([
      `giveUp ${s.giveUpMs} ms, RELAY_TTL_MS 6000`,
      String(s.sockets),
      `${s.learnedMs.first}–${s.learnedMs.last}`,
      `${s.learnedBy.relay_gone} / ${s.learnedBy.connection_lost}`,
      `${s.recreateMs.p50} / ${s.recreateMs.p99} / ${s.recreateMs.max}`,
      String(s.stormMs),
      String(s.allOpenMs),
      fmt(s.createsPerSec),
      refused.length ? refused.join(', ') : 'none',
      Object.values(s.perRelay).join(' / '),
      fmt(s.routerCpuUsPerCreate, 0),
      fmt(s.relayCpuUsPerOpen, 0),
      `${s.aliveAsked.toLocaleString('en-US')}, ${fmt(s.routerCpuUsPerAlive, 0)}`,
    ]),
    '',
    `| one router, ${m.creates.toLocaleString('en-US')} creates (each socket left at once) | heap KB after a full GC: ` +
      `${m.heapKb.map(([n]) => n.toLocaleString('en-US')).join(' / ')} creates | creates/s (32 at once) | router CPU µs per create |`,
    '|---|---|---|---|',
    tableRow(['', m.heapKb.map(([, kb]) => fmt(kb, 0)).join(' / '), fmt(m.createsPerSec), fmt(m.routerCpuUsPerCreate, 0)]),
  ];
}

/**
 * The far-link rows, in Chromium unless POLYSOCKET_ENGINES names engines (each adds ~7 minutes).
 * WebKit's own WebSocket cannot go through squid (it asks the proxy for the ws: URL, which squid
 * answers 501), so its native row reports that error.
 */
async function farLinkEngines(): Promise<string[]> {
  const tables: string[] = [];
  for (const name of enginesToRun(['chromium'])) tables.push(...(tables.length ? [''] : []), ...farLinkTable(await farLinkRows(name)));
  return tables;
}

/** The page-level rows in each engine in turn (one engine's rows side by side with its own native and peers). */
async function everyEngine(): Promise<EngineRows[]> {
  const all: EngineRows[] = [];
  for (const name of enginesToRun(ALL_ENGINES)) {
    process.stderr.write(`  ${name}...\n`);
    all.push(await browserRows(name));
  }
  return all;
}

function browserTable({ version, rows }: EngineRows): string[] {
  return [
    `| in ${version} (page-level) | echo p50 ms | p90 ms | p99 ms | burst ${1000} msgs: ms until all echoed |`,
    '|---|---|---|---|---|',
    ...rows.map((r) =>
      tableRow([r.name, fmt(r.echoP50Ms, 2), fmt(r.echoP90Ms, 2), fmt(r.echoP99Ms, 2), r.error ? `error: ${r.error}` : fmt(r.burstMs, 0)]),
    ),
  ];
}

function heavyTable(heavy: HeavyRow[]): string[] {
  const ms = (v: number) => v.toFixed(1);
  return [
    '| heaviest requests, one at a time (split relay) | bytes | answer | worst event-loop turn ms: first on a fresh relay |' +
      ' worst of 8 once warm (9th–16th) |',
    '|---|---|---|---|---|',
    ...heavy.map((h) => tableRow([h.request, h.bytes.toLocaleString('en-US'), h.answer, ms(h.firstDelayMs), ms(h.laterDelayMs)])),
  ];
}

/** while the idle sockets connected and heartbeated (bench/tcp-counters.ts) */
const tcpCell = (t: TcpCounters | undefined): string => (t ? `${t.listenOverflows} / ${t.synRetrans}` : '—');

function fmt(v: number | undefined, digits = 2): string {
  return v === undefined ? '—' : v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);
}

const tableRow = (cells: string[]): string => `| ${cells.join(' | ')} |`;

/** `tables`: ready-made tables (behind proxies, the storm), appended as they are. */
function report(rows: Row[], heavy: HeavyRow[], browser: EngineRows[], tables: string[]): void {
  const cpu = os.cpus();
  const memory = `${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  const machine = `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${memory}, Node ${process.version}, ${os.type()} ${os.release()}`;
  const idleKeys = [...N.idle.map(String), `${N.idle[0]}→${N.idle[1]}`];
  const lines = [
    `polysocket benchmark — ${new Date().toISOString()}${QUICK ? ' (QUICK)' : ''}`,
    `machine: ${machine}`,
    '',
    tableRow([
      'row',
      'echo p50 ms',
      'echo p99 ms',
      'server CPU µs / echo',
      `burst msg/s (${N.burst})`,
      `push msg/s (${N.push})`,
      'server CPU ms / 1k msgs',
      ...idleKeys.map((k) => (k.includes('→') ? `idle KB/socket marginal ${k}` : `idle KB/socket @${k}`)),
    ]),
    `|---|---|---|---|---|---|---|${idleKeys.map(() => '---').join('|')}|`,
    ...rows.map((r) =>
      tableRow([
        r.name,
        fmt(r.echoP50Ms, 3),
        fmt(r.echoP99Ms, 3),
        fmt(r.echoCpuUs, 0),
        fmt(r.burstPerSec),
        fmt(r.pushPerSec),
        fmt(r.cpuMsPer1kMessages),
        ...idleKeys.map((k) => fmt(r.idleKbPerSocket?.[k], 1)),
      ]),
    ),
    '',
    tableRow([
      'polysocket',
      'create→open p50 ms',
      'p99 ms',
      'creates/s (32 at once)',
      'heartbeats answered (last round, all sockets open)',
      'late > 1 s',
      'max lateness ms',
      'listen overflows / SYNs retransmitted',
    ]),
    '|---|---|---|---|---|---|---|---|',
    ...rows
      .filter((r) => r.createP50Ms !== undefined)
      .map((r) =>
        tableRow([
          r.name,
          fmt(r.createP50Ms, 3),
          fmt(r.createP99Ms, 3),
          fmt(r.createsPerSec),
          r.heartbeats ? `${r.heartbeats.answered} (${r.heartbeats.lastRound})` : '—',
          String(r.heartbeats?.lateOver1s ?? '—'),
          String(r.heartbeats?.maxLateMs ?? '—'),
          tcpCell(r.heartbeats?.tcp),
        ]),
      ),
  ];
  const direct = rows.find((r) => r.name === 'ws-direct');
  const peers = rows.filter((r) => r.name.includes('polling'));
  const best = (pick: (r: Row) => number | undefined, lower: boolean) => {
    const vals = peers.map(pick).filter((v): v is number => v !== undefined);
    return vals.length ? (lower ? Math.min(...vals) : Math.max(...vals)) : undefined;
  };
  const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : '—');
  const bare = rows.find((r) => r.name.startsWith('bare relay'));
  lines.push(
    '',
    tableRow([
      'ratios',
      'echo p50 vs ws-direct',
      'echo p50 vs best peer',
      'echo p50 vs bare relay',
      'burst vs ws-direct',
      'burst vs best peer',
      'push vs ws-direct',
      'push vs best peer',
    ]),
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows.filter((x) => x.name.startsWith('polysocket') || x === bare)) {
    lines.push(
      `| ${r.name} | ${ratio(r.echoP50Ms, direct?.echoP50Ms)} | ${ratio(
        r.echoP50Ms,
        best((x) => x.echoP50Ms, true),
      )} | ${ratio(r.echoP50Ms, bare?.echoP50Ms)} | ${ratio(r.burstPerSec, direct?.burstPerSec)} | ${ratio(
        r.burstPerSec,
        best((x) => x.burstPerSec, false),
      )} | ${ratio(r.pushPerSec, direct?.pushPerSec)} | ${ratio(
        r.pushPerSec,
        best((x) => x.pushPerSec, false),
      )} |`,
    );
  }
  lines.push('', ...heavyTable(heavy), '', ...browser.flatMap((e) => [...browserTable(e), '']), ...tables);
  const errors = rows.filter((r) => r.error);
  if (errors.length) lines.push('', ...errors.map((r) => `error in ${r.name}: ${r.error}`));
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    path.join(out, QUICK ? 'quick.json' : 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, counts: N, rows, heavy, browser }, null, 2)}\n`,
  );
  writeFileSync(path.join(out, QUICK ? 'quick.md' : 'latest.md'), `${text}\n`);
}

const deadline = setTimeout(() => {
  process.stderr.write('bench: overall time limit reached\n');
  children.forEach((c) => c.kill('SIGKILL'));
  process.exit(1);
}, 20 * 60_000);

main()
  .then(() => {
    clearTimeout(deadline);
    children.forEach((c) => c.kill('SIGKILL'));
    process.exit(0);
  })
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
    children.forEach((c) => c.kill('SIGKILL'));
    process.exit(1);
  });
