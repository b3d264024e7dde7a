/**
 * docs/PROTOCOL.md §3.3 unread answers, measured on a relay process of its own: polls that never
 * read their answers cannot make a relay hold more than one answer per socket, however many come.
 */
import net from 'node:net';
import { type RoleProcess, rssKb, spawnRole } from '../harness/processes';
import { until } from '../harness/until';
import { REDIS_URL, split, type Split, uniquePrefix } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, type Opened, request, sendGet } from '../helpers/wire';

const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const MESSAGE_BYTES = 1_000_000;
const MESSAGES = 4; // a 4 MB outbox
const POLLS = 12;

let up: Upstream;
let cluster: Split;
let relay: RoleProcess | undefined;

beforeEach(async () => {
  up = await startUpstream();
  const prefix = uniquePrefix('unread');
  relay = await spawnRole('relay', {
    REDIS_URL,
    STORE_PREFIX: prefix,
    RELAY_ID: 'unread',
    HEARTBEAT_MS: '100',
    RELAY_TTL_MS: '400',
    AUTH: 'none',
    ALLOW_TARGETS: '127.0.0.1',
    MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
    MAX_MESSAGE_BYTES: String(MESSAGE_BYTES),
    // nothing may be freed by a timer while the test looks: only the unread-answer rule frees
    ANSWER_WRITE_TIMEOUT_MS: '120000',
    IDLE_TIMEOUT_MS: '120000',
  });
  cluster = await split({ routers: 1, relays: 0, prefix });
});

afterEach(async () => {
  await relay?.kill('SIGKILL');
  await cluster.close();
  await up.close();
});

/** A sample of the relay's /metrics whose line starts with `prefix` (a name, and labels to match). */
async function metric(prefix: string): Promise<number> {
  const a = await request(`http://127.0.0.1:${relay!.adminPort}/metrics`);
  const line = a.text.split('\n').find((l) => l.startsWith(prefix));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** A socket whose outbox holds MESSAGES messages of MESSAGE_BYTES, none of them polled yet. */
async function filledSocket(): Promise<Opened> {
  const s = await create(cluster.routers[0].base, { target: up.url });
  for (let n = 1; n <= MESSAGES; n++) await sendGet(s, { d: `big:${MESSAGE_BYTES}`, n });
  await until(async () => (await metric('polysocket_buffered_bytes')) >= MESSAGES * MESSAGE_BYTES, 20_000, 'the outbox filled');
  return s;
}

interface RawPoll {
  socket: net.Socket;
  /** what arrived: the head (up to its blank line) and the count of body bytes after it */
  head: string;
  bodyBytes: number;
  closed: boolean;
}

/** A poll on a raw connection that does not read (until resumed): its answer stays in the relay's buffers. */
function unreadPoll(s: Opened): RawPoll {
  const u = new URL(s.url);
  const socket = net.connect(Number(u.port), '127.0.0.1');
  socket.pause();
  const c: RawPoll = { socket, head: '', bodyBytes: 0, closed: false };
  socket.on('data', (d: Buffer) => {
    if (c.head.endsWith('\r\n\r\n')) {
      c.bodyBytes += d.length;
      return;
    }
    const text = d.toString('latin1');
    const end = (c.head + text).indexOf('\r\n\r\n');
    if (end < 0) c.head += text;
    else {
      const before = c.head.length;
      c.head = (c.head + text).slice(0, end + 4);
      c.bodyBytes += d.length - (end + 4 - before);
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    c.closed = true;
  });
  socket.write(`GET /j/${s.socket}?cb=p&ack=0 HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
  return c;
}

const contentLength = (p: RawPoll) => Number(/\r\ncontent-length: (\d+)\r\n/i.exec(p.head)?.[1]);

/**
 * Opens POLLS polls one after the other, each answered (all 4 MB) before the next is sent;
 * `between` runs before each poll but the first.
 */
async function pollWithoutReading(s: Opened, between?: (i: number) => Promise<void>): Promise<RawPoll[]> {
  const polls = [];
  for (let i = 1; i <= POLLS; i++) {
    if (i > 1) await between?.(i);
    polls.push(unreadPoll(s));
    await until(async () => (await metric('polysocket_polls_total{answer="messages"')) >= i, 10_000, `poll ${i} answered`);
  }
  return polls;
}

test(`${POLLS} polls that never read a 4 MB answer grow the relay's RSS by less than MAX_BUFFERED_BYTES`, async () => {
  const s = await filledSocket();
  const before = rssKb(relay!.child.pid!);
  const polls = await pollWithoutReading(s);
  const grownBytes = (rssKb(relay!.child.pid!) - before) * 1024;
  // the numbers for the record (docs: before the rule and the shared encoding, 87 MB)
  process.stdout.write(`unread answers: RSS grew ${(grownBytes / 1e6).toFixed(1)} MB over ${POLLS} polls\n`);
  expect(grownBytes).toBeLessThan(MAX_BUFFERED_BYTES);
  for (const p of polls) p.socket.destroy();
}, 60_000);

test(`${POLLS} unread polls answered with different messages each grow the relay's RSS by less than MAX_BUFFERED_BYTES`, async () => {
  const s = await filledSocket();
  const before = rssKb(relay!.child.pid!);
  // one more message before each poll: no two answers share their bytes
  const polls = await pollWithoutReading(s, async (i) => {
    const queued = await metric('polysocket_buffered_bytes');
    await sendGet(s, { d: 'push:1', n: MESSAGES + i - 1 });
    await until(async () => (await metric('polysocket_buffered_bytes')) > queued, 10_000, `message ${i} queued`);
  });
  const grownBytes = (rssKb(relay!.child.pid!) - before) * 1024;
  process.stdout.write(`unread answers, each different: RSS grew ${(grownBytes / 1e6).toFixed(1)} MB over ${POLLS} polls\n`);
  expect(grownBytes).toBeLessThan(MAX_BUFFERED_BYTES);
  for (const p of polls) p.socket.destroy();
}, 60_000);

test('a newer unread answer cuts the connection of the older one; the newest is whole', async () => {
  const s = await filledSocket();
  const polls = await pollWithoutReading(s);
  const newest = polls[polls.length - 1];
  for (const p of polls) p.socket.resume(); // read now: what the relay still has for each arrives
  await until(() => polls.slice(0, -1).every((p) => p.closed), 20_000, 'the older connections ended');
  await until(() => newest.bodyBytes >= contentLength(newest), 20_000, 'the newest answer read');
  for (const p of polls.slice(0, -1)) expect(p.bodyBytes).toBeLessThan(contentLength(newest));
  expect(newest.bodyBytes).toBe(contentLength(newest));
  expect(contentLength(newest)).toBeGreaterThan(MESSAGES * MESSAGE_BYTES);
  expect(newest.closed).toBe(false);
  for (const p of polls) p.socket.destroy();
}, 60_000);
