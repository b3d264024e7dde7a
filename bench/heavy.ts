/**
 * The worst event-loop delay on a relay while the heaviest requests the limits allow arrive, one
 * at a time: a full batch, a largest message, the last chunk of a longest chunked send, and a poll
 * answering a full outbox. The relay is its own process, with bench/loop-probe.ts preloaded: asked
 * right before and right after each request, its worst turn covers that request alone.
 *
 * Each kind runs REPEAT times on fresh sockets. The first is the relay's first request of that
 * kind, on code V8 has not compiled yet (a relay meets it once per process); V8 takes about five
 * such requests to finish optimising, so the last WARM ones are what a relay that has served
 * traffic meets from then on. Both are reported.
 */
import { httpRequest } from './clients/client';
import path from 'node:path';
import { withTimeout } from '../shared/timeout';
import { polysocket, type Proc, server, stop } from '../test/harness/processes';

export interface HeavyRow {
  request: string;
  /** bytes the client sent or received for it */
  bytes: number;
  /** the relay's answer */
  answer: string;
  /** the first request of its kind on a fresh relay process */
  firstDelayMs: number;
  /** the worst of the last WARM */
  laterDelayMs: number;
}

const MAX_BATCH = 500; // MAX_BATCH_SENDS's default
const MAX_MESSAGE = 1_048_576;
const REPEAT = 16;
const WARM = 8;

const PROBE = path.join(__dirname, 'loop-probe.js');

/** The relay's worst event-loop turn since the last ask (bench/loop-probe.ts). */
class LoopProbe {
  private waiting: ((ms: number) => void)[] = [];
  onLine = (line: any): void => {
    if (line?.event === 'loop_probe') this.waiting.shift()?.(Number(line.worstMs));
  };
  worstMs(p: Proc): Promise<number> {
    return withTimeout(
      new Promise<number>((resolve) => {
        this.waiting.push(resolve);
        p.child.kill('SIGUSR2');
      }),
      10_000,
      () => new Error('the loop probe did not answer'),
    );
  }
}

interface Socket {
  url: string;
  socket: string;
}

/** One kind of heavy request: `prepare` (unmeasured) readies a fresh socket, `run` is the request. */
interface Kind {
  request: string;
  prepare?: (s: Socket) => Promise<void>;
  run: (s: Socket) => Promise<{ answer: string; bytes: number }>;
}

const post = async (s: Socket, body: string) => {
  const a = await httpRequest(`${s.url}/s/${s.socket}`, { method: 'POST', body });
  return { answer: `${a.status}`, bytes: body.length };
};

function kinds(): Kind[] {
  let batch = 'n=1';
  for (let i = 0; i < MAX_BATCH; i++) batch += `&t=t&d=${'x'.repeat(64)}`;
  const largest = `n=1&t=t&d=${'y'.repeat(MAX_MESSAGE)}`;
  const chunk = 'z'.repeat(1900);
  const chunks = Math.floor(MAX_MESSAGE / chunk.length);
  const pushed = 14_000; // ~1 MiB of 64-byte messages waiting for the client
  let empties = 'n=1';
  for (let i = 0; i < 580_000; i++) empties += '&t=t&d=';
  return [
    { request: `a full batch (${MAX_BATCH} × 64 B, POST)`, run: (s) => post(s, batch) },
    { request: 'a largest message (1 MiB text, POST)', run: (s) => post(s, largest) },
    {
      request: `the last chunk of a chunked send (${chunks} × 1,900 B, GET)`,
      prepare: async (s) => {
        for (let n = 1; n < chunks; n++) await httpRequest(`${s.url}/s/${s.socket}?n=${n}&t=t&c=1&d=${chunk}`);
      },
      run: async (s) => {
        const a = await httpRequest(`${s.url}/s/${s.socket}?n=${chunks}&t=t&d=${chunk}`);
        return { answer: `${a.status}`, bytes: chunks * chunk.length };
      },
    },
    {
      request: `a poll answering a full outbox (${pushed} messages)`,
      prepare: async (s) => {
        await httpRequest(`${s.url}/s/${s.socket}?n=1&t=t&d=push:${pushed}`);
        let have = 0;
        for (let k = 0; k < 200 && have < pushed; k++) {
          const a = await httpRequest(`${s.url}/j/${s.socket}?ttl=0&ack=0`);
          have = (a.text.match(/"seq"/g) ?? []).length;
        }
      },
      run: async (s) => {
        const a = await httpRequest(`${s.url}/j/${s.socket}?ttl=0&ack=0`);
        return { answer: `${a.status}`, bytes: a.text.length };
      },
    },
    {
      request: 'a batch of 580,000 empty sends (refused: over MAX_BATCH_SENDS)',
      run: async (s) => {
        const a = await httpRequest(`${s.url}/s/${s.socket}`, { method: 'POST', body: empties });
        return { answer: `${a.status} ${JSON.parse(a.text).error ?? ''}`.trim(), bytes: empties.length };
      },
    },
  ];
}

export async function heavyRequests(redisUrl: string, prefix: string): Promise<HeavyRow[]> {
  const up = await server('upstream');
  const env = { REDIS_URL: redisUrl, STORE_PREFIX: prefix, MAX_BUFFERED_BYTES: String(4 * MAX_MESSAGE) };
  const probe = new LoopProbe();
  const relay = await polysocket('relay', env, probe.onLine, ['--require', PROBE]);
  const router = await polysocket('router', env);
  const rows: HeavyRow[] = [];
  try {
    const open = async (): Promise<Socket> => {
      const target = encodeURIComponent(`ws://127.0.0.1:${up.port}/`);
      const a = JSON.parse((await httpRequest(`http://localhost:${router.port}/create?target=${target}`)).text);
      if (!a.ok) throw new Error(`create: ${a.error}`);
      return a;
    };
    for (const kind of kinds()) {
      const delays: number[] = [];
      let last = { answer: '', bytes: 0 };
      for (let i = 0; i < REPEAT; i++) {
        const s = await open();
        await kind.prepare?.(s);
        await probe.worstMs(relay); // resets the window
        last = await kind.run(s);
        delays.push(await probe.worstMs(relay));
        await httpRequest(`${s.url}/s/${s.socket}?t=l`); // gone: the next one starts on a quiet relay
      }
      rows.push({ request: kind.request, ...last, firstDelayMs: delays[0], laterDelayMs: Math.max(...delays.slice(-WARM)) });
    }
  } finally {
    [up, relay, router].forEach(stop);
  }
  return rows;
}
