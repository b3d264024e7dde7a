/**
 * The worst event-loop delay on a relay while the heaviest requests the limits allow arrive, one
 * at a time: a full batch, a largest message, the last chunk of a longest chunked send, and a poll
 * answering a full outbox. The relay is its own process; its `nodejs_eventloop_lag_max_seconds`
 * (prom-client resets it at every scrape) is read from the admin port right before and right after
 * each request, so each figure covers that request alone.
 */
import { httpRequest } from './clients/client';
import { polysocket, server, stop } from '../test/harness/processes';

export interface HeavyRow {
  request: string;
  /** bytes the client sent or received for it */
  bytes: number;
  /** the relay's answer */
  answer: string;
  maxEventLoopDelayMs: number;
}

const MAX_BATCH = 1000; // MAX_BATCH_SENDS's default
const MAX_MESSAGE = 1_048_576;

async function lagMs(adminPort: number): Promise<number> {
  const text = (await httpRequest(`http://127.0.0.1:${adminPort}/metrics`)).text;
  const m = /^nodejs_eventloop_lag_max_seconds\{[^}]*\} (\S+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : Number.NaN;
}

export async function heavyRequests(redisUrl: string, prefix: string): Promise<HeavyRow[]> {
  const up = await server('upstream');
  const env = { REDIS_URL: redisUrl, STORE_PREFIX: prefix, MAX_BUFFERED_BYTES: String(4 * MAX_MESSAGE) };
  const relay = await polysocket('relay', env);
  const router = await polysocket('router', env);
  const rows: HeavyRow[] = [];
  try {
    const admin = relay.adminPort ?? 0;
    const open = async () => {
      const a = JSON.parse(
        (await httpRequest(`http://localhost:${router.port}/create?target=${encodeURIComponent(`ws://127.0.0.1:${up.port}/`)}`)).text,
      );
      if (!a.ok) throw new Error(`create: ${a.error}`);
      return a as { url: string; socket: string };
    };
    const measure = async (request: string, bytes: number, run: () => Promise<string>) => {
      await lagMs(admin); // resets the window
      const answer = await run();
      rows.push({ request, bytes, answer, maxEventLoopDelayMs: await lagMs(admin) });
    };

    {
      const s = await open();
      let body = 'n=1';
      for (let i = 0; i < MAX_BATCH; i++) body += `&t=t&d=${'x'.repeat(64)}`;
      await measure(`a full batch (${MAX_BATCH} × 64 B, POST)`, body.length, async () => {
        const a = await httpRequest(`${s.url}/s/${s.socket}`, { method: 'POST', body });
        return `${a.status}`;
      });
    }
    {
      const s = await open();
      const body = `n=1&t=t&d=${'y'.repeat(MAX_MESSAGE)}`;
      await measure('a largest message (1 MiB text, POST)', body.length, async () => {
        const a = await httpRequest(`${s.url}/s/${s.socket}`, { method: 'POST', body });
        return `${a.status}`;
      });
    }
    {
      const s = await open();
      const chunk = 'z'.repeat(1900);
      const chunks = Math.floor(MAX_MESSAGE / chunk.length);
      for (let n = 1; n < chunks; n++) await httpRequest(`${s.url}/s/${s.socket}?n=${n}&t=t&c=1&d=${chunk}`);
      await measure(`the last chunk of a chunked send (${chunks} × 1,900 B, GET)`, chunks * chunk.length, async () => {
        const a = await httpRequest(`${s.url}/s/${s.socket}?n=${chunks}&t=t&d=${chunk}`);
        return `${a.status}`;
      });
    }
    {
      const s = await open();
      // ~1 MiB of 64-byte messages waiting for the client
      const count = 14_000;
      await httpRequest(`${s.url}/s/${s.socket}?n=1&t=t&d=push:${count}`);
      let have = 0;
      for (let k = 0; k < 200 && have < count; k++) {
        const a = await httpRequest(`${s.url}/j/${s.socket}?ttl=0&ack=0`);
        have = (a.text.match(/"seq"/g) ?? []).length;
      }
      let bytes = 0;
      await measure(`a poll answering a full outbox (${count} messages)`, 0, async () => {
        const a = await httpRequest(`${s.url}/j/${s.socket}?ttl=0&ack=0`);
        bytes = a.text.length;
        return `${a.status}`;
      });
      rows[rows.length - 1].bytes = bytes;
    }
    {
      const s = await open();
      let body = 'n=1';
      for (let i = 0; i < 580_000; i++) body += '&t=t&d=';
      await measure('a batch of 580,000 empty sends (refused: over MAX_BATCH_SENDS)', body.length, async () => {
        const a = await httpRequest(`${s.url}/s/${s.socket}`, { method: 'POST', body });
        return `${a.status} ${JSON.parse(a.text).error ?? ''}`.trim();
      });
    }
  } finally {
    [up, relay, router].forEach(stop);
  }
  return rows;
}
