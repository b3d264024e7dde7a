/**
 * npm run soak: polysocket under steady load while faults are injected on a schedule, on loopback.
 * 1 Redis (its own redis-server, so it can be killed), 2 routers, 3 relays (relay 3 behind a
 * proxy that loses and delays answers), an upstream that echoes and pushes numbered messages,
 * and N sockets spread over 127.0.0.x source addresses, each sending numbered messages at a
 * steady rate and checking every echo and push arrives once and in order.
 *
 *   SOAK_MS=180000 SOAK_SOCKETS=2000 npm run soak
 *
 * Bounded: every phase has a deadline and the whole run stops by itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mintToken } from '../router/token';
import { children, polysocket, ROOT, rssKb, server, stop, type Proc } from '../test/harness/processes';
import { ownRedis } from '../test/harness/redis';
import { until } from '../test/harness/until';
import { SoakSocket } from './soak-client';

export interface SoakOptions {
  durationMs: number;
  sockets: number;
  sendIntervalMs: number;
  pushMs: number;
  giveUpMs: number;
  idleTimeoutMs: number;
  pollTtlMs: number;
  vanish: number;
  stallers: number;
  /** put relay 3 behind the lossy TCP proxy (SOAK_PROXY=0 turns it off) */
  lossyProxy: boolean;
  log?: (line: string) => void;
}

export const DEFAULTS: SoakOptions = {
  durationMs: 180_000,
  sockets: 2000,
  sendIntervalMs: 2000,
  pushMs: 2000,
  giveUpMs: 5000,
  idleTimeoutMs: 10_000,
  pollTtlMs: 10_000,
  vanish: 20,
  stallers: 3,
  lossyProxy: true,
};

export interface SoakReport {
  options: SoakOptions;
  machine: string;
  socketsOpened: number;
  creates: { ok: number; perSec: number };
  stayedOpen: { sockets: number; sent: number; echoes: number; pushes: number; lost: number; duplicated: number; outOfOrder: number };
  closedSockets: { sent: number; echoes: number; pushes: number; lostAtClose: number };
  closes: Record<string, number>;
  killedRelay: { clients: number; learnedMsP50: number; learnedMsMax: number };
  /** clients that gave up (1006, no reason) anywhere but on the killed relay: each one a lost contact to explain */
  otherGiveUps: { url: string; atMs: number }[];
  vanished: { sockets: number; expiredOnRelays: number };
  stallers: { sockets: number; closed: Record<string, number> };
  proxy: { dropped: number; delayed: number };
  errors: Record<string, number>;
  relays: Record<string, { peakRssMb: number; finalRssMb: number }>;
  faults: { at: number; what: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP proxy in front of relay 3 (one upstream connection per client connection, so keep-alive
 * works as it would). Inside its window it cuts a share of connections right as the relay's
 * answer arrives (the relay acted on the request; the client never hears back), and delays
 * a share of answers.
 */
export async function lossyProxy() {
  const state = { target: 0, on: false, dropped: 0, delayed: 0, n: 0 };
  const srv = net.createServer((client) => {
    const relay = net.connect(state.target, '127.0.0.1');
    const both = () => {
      client.destroy();
      relay.destroy();
    };
    client.on('error', both).on('close', both);
    relay.on('error', both).on('close', both);
    client.pipe(relay);
    relay.on('data', (chunk: Buffer) => {
      const nth = ++state.n;
      if (state.on && nth % 17 === 0) {
        state.dropped++;
        both();
      } else if (state.on && nth % 5 === 0) {
        state.delayed++;
        relay.pause();
        setTimeout(
          () => {
            client.write(chunk);
            relay.resume();
          },
          20 + (nth % 80),
        );
      } else client.write(chunk);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { state, port: (srv.address() as AddressInfo).port, close: () => srv.close() };
}

async function metric(port: number, name: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => {
          const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(t);
          resolve(m ? Number(m[1]) : NaN);
        });
      })
      .on('error', () => resolve(NaN));
  });
}

export async function runSoak(opts: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const o: SoakOptions = { ...DEFAULTS, ...opts };
  const say = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const T = o.durationMs;
  const t0 = Date.now();
  const faults: { at: number; what: string }[] = [];
  const fault = (what: string) => {
    faults.push({ at: Date.now() - t0, what });
    say(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what} (load generator fds: ${readdirSync('/proc/self/fd').length})`);
  };
  const errors: Record<string, number> = {};
  const countError = (code: string) => {
    const key = code
      .replace(/:(connect|read|write) .*$/, ':$1')
      .replace(/ECONNREFUSED.*/, 'ECONNREFUSED')
      .slice(0, 60);
    errors[key] = (errors[key] ?? 0) + 1;
  };

  const SECRET = randomBytes(16).toString('hex');
  const redis = await ownRedis();
  const upstream = await server('soak', { PUSH_MS: String(o.pushMs) });
  const proxy = await lossyProxy();
  const base = {
    REDIS_URL: redis.url,
    STORE_PREFIX: 'soak:',
    AUTH: 'token',
    TOKEN_SECRET: SECRET,
    HEARTBEAT_MS: '500',
    RELAY_TTL_MS: '2000',
    IDLE_TIMEOUT_MS: String(o.idleTimeoutMs),
    DRAIN_TIMEOUT_MS: '3000',
    LOG_LEVEL: 'warn',
    MAX_BUFFERED_BYTES: '1048576',
    UPSTREAM_STALL_MS: String(Math.min(10_000, Math.round(o.durationMs / 5))),
  };
  const relayEnv = (id: string, extra: Record<string, string> = {}) => ({ ...base, RELAY_ID: id, LOG_LEVEL: 'info', ...extra });
  const relays: Record<string, Proc> = {};
  const peaks: Record<string, number> = {};
  relays.relay1 = await polysocket('relay', relayEnv('relay1'));
  relays.relay2 = await polysocket('relay', relayEnv('relay2'));
  relays.relay3 = await polysocket('relay', relayEnv('relay3', o.lossyProxy ? { PUBLIC_HOST: `localhost:${proxy.port}` } : {}));
  proxy.state.target = relays.relay3.port;
  const routers = [await polysocket('router', { ...base, LOG_LEVEL: 'info' }), await polysocket('router', { ...base, LOG_LEVEL: 'info' })];
  const sampler = setInterval(() => {
    for (const [id, p] of Object.entries(relays)) peaks[id] = Math.max(peaks[id] ?? 0, rssKb(p.pid));
  }, 500);

  const tenants = 10;
  const perTenant = Math.ceil(o.sockets / tenants);
  const tokens = Array.from({ length: tenants }, (_v, t) =>
    mintToken(SECRET, {
      targets: ['ws://127.0.0.1:*'],
      allowNoOrigin: true,
      maxSockets: perTenant,
      ttlSeconds: 3600,
      subject: `tenant-${t}`,
    }),
  );
  const free = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true, ttlSeconds: 3600 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 100_000 });
  const target = `ws://127.0.0.1:${upstream.port}/`;
  const make = (i: number, token: string) =>
    new SoakSocket({
      router: `http://localhost:${routers[i % routers.length].port}`,
      target,
      token,
      agent,
      localAddress: `127.0.0.${1 + (i % 200)}`,
      giveUpMs: o.giveUpMs,
      pollTtlMs: o.pollTtlMs,
      onError: countError,
    });

  // the pool: every slot keeps one live socket, replacing closed or vanished ones
  const slots: (SoakSocket | undefined)[] = new Array(o.sockets).fill(undefined);
  const retired: SoakSocket[] = [];
  let opened = 0;
  let opening = 0;
  let running = true;
  const refill = async () => {
    for (let i = 0; i < slots.length && opening < 64; i++) {
      const s = slots[i];
      if (s && (s.live || (!s.closed && !s.quiet && !s.socket))) continue;
      if (s) retired.push(s);
      const next = make(i, tokens[i % tenants]);
      slots[i] = next;
      opening++;
      void next.open().then((ok) => {
        opening--;
        if (ok) opened++;
        else if (slots[i] === next) slots[i] = undefined;
      });
    }
  };
  const supervisor = setInterval(() => running && void refill(), 200);
  let tick = 0;
  const ticks = Math.max(1, Math.round(o.sendIntervalMs / 100));
  const sender = setInterval(() => {
    if (!running) return;
    tick++;
    for (let i = tick % ticks; i < slots.length; i += ticks) slots[i]?.sendNext();
  }, 100);
  await until(() => opened >= o.sockets, Math.max(10_000, T * 0.08)).catch(() => undefined);
  fault(`load: ${opened} sockets open`);

  const at = (fraction: number) => sleep(Math.max(0, t0 + fraction * T - Date.now()));
  const stallers: SoakSocket[] = [];
  const vanished: SoakSocket[] = [];
  let killedAt = 0;
  let killedPort = 0;

  await at(0.1);
  if (o.lossyProxy) {
    proxy.state.on = true;
    fault('proxy: losing and delaying answers from relay3');
  }

  await at(0.2);
  for (let i = 0; i < o.stallers; i++) {
    const s = make(i, free);
    if (!(await s.open())) continue;
    stallers.push(s);
    s.send('stall');
    const big = 'b'.repeat(60_000);
    void (async () => {
      for (let k = 0; k < 400 && !s.closed; k++) {
        s.send(big);
        await sleep(10);
      }
    })();
  }
  fault(`upstream stops reading for ${stallers.length} sockets`);

  await at(0.25);
  for (let i = 0; i < o.vanish; i++) {
    const s = slots[i * Math.floor(o.sockets / Math.max(1, o.vanish))];
    if (s?.live) {
      s.vanish();
      vanished.push(s);
    }
  }
  fault(`${vanished.length} clients vanish without closing`);

  await at(0.35);
  await redis.kill();
  fault('Redis killed');
  await at(0.45);
  await redis.start();
  fault('Redis restarted (empty)');
  if (o.lossyProxy) {
    proxy.state.on = false;
    fault('proxy: clean again');
  }

  await at(0.55);
  // The stalled sockets must close by the stall rule (1008) before a relay fault can reach them:
  // on a busy machine filling their buffers takes longer, so wait for that event (bounded), not a time.
  const stallMs = Number(base.UPSTREAM_STALL_MS);
  await until(() => stallers.every((s) => s.closed), stallMs * 3 + 20_000).catch(() => undefined);
  fault(`stalled sockets closed: ${stallers.filter((s) => s.closed).length} of ${stallers.length}`);
  killedPort = relays.relay1.port;
  relays.relay1.child.kill('SIGKILL');
  killedAt = Date.now();
  fault('relay1 killed (SIGKILL)');

  await at(0.7);
  relays.relay1 = await polysocket('relay', relayEnv('relay1'));
  fault('relay1 restarted');

  await at(0.75);
  const draining = relays.relay2;
  draining.child.kill('SIGTERM');
  fault('relay2 drained (SIGTERM)');
  const code = await Promise.race([draining.exited, sleep(10_000).then(() => 'timeout')]);
  fault(`relay2 exited: ${code}`);
  relays.relay2 = await polysocket('relay', relayEnv('relay2'));
  fault('relay2 restarted');

  await at(0.92);
  running = false;
  clearInterval(sender);
  clearInterval(supervisor);
  fault('load stopped; collecting the last echoes and pushes');
  const live = slots.filter((s): s is SoakSocket => !!s && s.live);
  await Promise.all(live.map((s) => s.finish(Math.max(5000, o.pushMs * 3))));
  // vanished sockets must be gone from the relays (idle timeout closed their upstreams): the
  // sessions left are the live ones
  const expiredOk = await until(async () => {
    let sessions = 0;
    for (const p of Object.values(relays)) sessions += await metric(p.adminPort ?? 0, 'polysocket_sessions');
    return sessions <= live.length;
  }, o.idleTimeoutMs + 5000).then(
    () => true,
    () => false,
  );

  clearInterval(sampler);
  const all = [...retired, ...slots.filter((s): s is SoakSocket => !!s)].filter((s) => s.socket && !vanished.includes(s));
  const stayed = all.filter((s) => !s.closed);
  const closed = all.filter((s) => s.closed);
  const sum = (xs: SoakSocket[], k: keyof SoakSocket['counts']) => xs.reduce((a, s) => a + s.counts[k], 0);
  const closes: Record<string, number> = {};
  for (const s of [...closed, ...stallers.filter((x) => x.closed)]) {
    const key = `${s.closed!.code}${s.closed!.reason ? ` ${s.closed!.reason}` : ''}`;
    closes[key] = (closes[key] ?? 0) + 1;
  }
  const onKilledRelay = (s: SoakSocket) => s.url.endsWith(`:${killedPort}`) && s.closed!.code === 1006 && s.closed!.at >= killedAt;
  const otherGiveUps = closed
    .filter((s) => s.closed!.code === 1006 && !s.closed!.reason && !onKilledRelay(s))
    .map((s) => ({ url: s.url, atMs: s.closed!.at - t0 }));
  const learned = closed
    .filter(onKilledRelay)
    .map((s) => s.closed!.at - killedAt)
    .sort((a, b) => a - b);
  const finalRss: Record<string, number> = {};
  for (const [id, p] of Object.entries(relays)) finalRss[id] = rssKb(p.pid);

  const cpu = os.cpus();
  const report: SoakReport = {
    options: { ...o, log: undefined },
    machine: `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    socketsOpened: opened + stallers.length,
    creates: { ok: opened, perSec: opened / ((Date.now() - t0) / 1000) },
    stayedOpen: {
      sockets: stayed.length,
      sent: sum(stayed, 'sent'),
      echoes: sum(stayed, 'echoes'),
      pushes: sum(stayed, 'pushes'),
      lost: sum(stayed, 'lost'),
      duplicated: sum(stayed, 'duplicated'),
      outOfOrder: sum(stayed, 'outOfOrder'),
    },
    closedSockets: {
      sent: sum(closed, 'sent'),
      echoes: sum(closed, 'echoes'),
      pushes: sum(closed, 'pushes'),
      lostAtClose: sum(closed, 'sent') - sum(closed, 'echoes'),
    },
    closes,
    killedRelay: {
      clients: learned.length,
      learnedMsP50: learned[Math.floor(learned.length / 2)] ?? NaN,
      learnedMsMax: learned[learned.length - 1] ?? NaN,
    },
    otherGiveUps,
    vanished: { sockets: vanished.length, expiredOnRelays: expiredOk ? vanished.length : 0 },
    stallers: {
      sockets: stallers.length,
      closed: Object.fromEntries([1008, 1009].map((c) => [String(c), stallers.filter((s) => s.closed?.code === c).length])),
    },
    proxy: { dropped: proxy.state.dropped, delayed: proxy.state.delayed },
    errors,
    relays: Object.fromEntries(
      Object.keys(relays).map((id) => [
        id,
        { peakRssMb: Math.round((peaks[id] ?? 0) / 102.4) / 10, finalRssMb: Math.round(finalRss[id] / 102.4) / 10 },
      ]),
    ),
    faults,
  };

  agent.destroy();
  proxy.close();
  for (const p of [...Object.values(relays), ...routers, upstream]) stop(p);
  await redis.kill();
  return report;
}

function summary(r: SoakReport): string {
  const s = r.stayedOpen;
  return [
    `soak: ${r.options.durationMs / 1000} s, ${r.options.sockets} sockets — ${r.machine}`,
    `sockets opened ${r.socketsOpened} (creates ${r.creates.ok}, ${r.creates.perSec.toFixed(1)}/s)`,
    `stayed open ${s.sockets}: sent ${s.sent}, echoes ${s.echoes}, pushes ${s.pushes} — ` +
      `lost ${s.lost}, duplicated ${s.duplicated}, out of order ${s.outOfOrder}`,
    `closed sockets: sent ${r.closedSockets.sent}, echoes ${r.closedSockets.echoes}, in flight at close ${r.closedSockets.lostAtClose}`,
    `closes: ${JSON.stringify(r.closes)}`,
    `killed relay: ${r.killedRelay.clients} clients learned in p50 ${r.killedRelay.learnedMsP50} ms, max ${r.killedRelay.learnedMsMax} ms`,
    `vanished: ${r.vanished.sockets}, expired on the relays: ${r.vanished.expiredOnRelays}`,
    `stalled upstreams: ${r.stallers.sockets}, closed ${JSON.stringify(r.stallers.closed)}`,
    `proxy: dropped ${r.proxy.dropped}, delayed ${r.proxy.delayed}`,
    `relays RSS MB: ${JSON.stringify(r.relays)}`,
    `errors: ${JSON.stringify(r.errors)}`,
  ].join('\n');
}

if (require.main === module) {
  const deadline = setTimeout(
    () => {
      process.stderr.write('soak: overall time limit reached\n');
      children.forEach((c) => c.kill('SIGKILL'));
      process.exit(1);
    },
    Number(process.env.SOAK_MS ?? DEFAULTS.durationMs) + 5 * 60_000,
  );
  runSoak({
    durationMs: Number(process.env.SOAK_MS ?? DEFAULTS.durationMs),
    sockets: Number(process.env.SOAK_SOCKETS ?? DEFAULTS.sockets),
    lossyProxy: process.env.SOAK_PROXY !== '0',
  })
    .then((r) => {
      clearTimeout(deadline);
      const out = path.join(ROOT, 'bench', 'results');
      mkdirSync(out, { recursive: true });
      writeFileSync(path.join(out, 'soak.json'), `${JSON.stringify(r, null, 2)}\n`);
      process.stdout.write(`${summary(r)}\n`);
      const s = r.stayedOpen;
      process.exit(s.lost || s.duplicated || s.outOfOrder ? 1 : 0);
    })
    .catch((err) => {
      process.stderr.write(`soak failed: ${(err as Error).stack}\n`);
      children.forEach((c) => c.kill('SIGKILL'));
      process.exit(1);
    });
}

export { summary };
