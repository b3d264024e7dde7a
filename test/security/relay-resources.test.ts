/**
 * Security round 2, what a client without a credential (or with one socket) can make a relay hold:
 * bodies, slow requests, connections, batch work, closing upstreams and unread answers.
 */
import net from 'node:net';
import { mintToken } from '../../router/token';
import { until } from '../harness/until';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, request, sendGet } from '../helpers/wire';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

/** A raw connection to a server on loopback, collecting what comes back. */
function raw(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const state = { data: '', closed: false };
  socket.on('data', (d) => {
    state.data += d.toString('latin1');
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    state.closed = true;
  });
  return { socket, state };
}

test('a POST to a socket that does not exist is refused before a byte of its body is read', async () => {
  const svc = await allInOne();
  try {
    const c = raw(svc.port);
    c.socket.write(
      'POST /s/AAAAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: x\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000000\r\n\r\n',
    );
    await until(() => c.state.data.includes('unknown_socket'), 10_000, 'an answer without the body');
    expect(c.state.data).toMatch(/^HTTP\/1\.1 403 /);
    expect(c.state.data).toContain('"error":"unknown_socket"');
    c.socket.destroy();
  } finally {
    await svc.close();
  }
});

test('a request whose body never finishes is cut after REQUEST_TIMEOUT_MS', async () => {
  const svc = await allInOne({ REQUEST_TIMEOUT_MS: '1000' });
  try {
    const s = await create(svc.base, { target: up.url });
    const c = raw(svc.port);
    c.socket.write(`POST /s/${s.socket} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nd=abc`);
    await until(() => c.state.closed, 15_000, 'the server cutting the request');
    expect(c.state.data).toMatch(/^HTTP\/1\.1 408 /);
  } finally {
    await svc.close();
  }
});

test('connections past MAX_CONNECTIONS_PER_IP from one address are closed as they arrive', async () => {
  const svc = await allInOne({ MAX_CONNECTIONS_PER_IP: '3' });
  const held = [raw(svc.port), raw(svc.port), raw(svc.port)];
  try {
    await Promise.all(held.map((c) => new Promise((r) => c.socket.once('connect', r))));
    await until(async () => (await new Promise<number>((r) => svc.server.getConnections((_e, n) => r(n)))) === 3, 10_000, 'three held');
    const extra = raw(svc.port);
    await until(() => extra.state.closed, 10_000, 'the fourth connection closed');
    expect(held.every((c) => !c.state.closed)).toBe(true);
    held[0].socket.destroy();
    await until(() => held[0].state.closed, 10_000, 'one given back');
    // once one is given back, a new one is served
    await until(async () => (await request(`${svc.base}/polysocket.js`).then((a) => a.status)) === 200, 10_000, 'served again');
  } finally {
    for (const c of held) c.socket.destroy();
    await svc.close();
  }
});

test('a batch of more than MAX_BATCH_SENDS sends is refused whole, before any is taken', async () => {
  const svc = await allInOne({ MAX_BATCH_SENDS: '10' });
  const own = await startUpstream();
  try {
    const s = await create(svc.base, { target: own.url });
    const batch = (k: number) => `n=1${'&t=t&d=x'.repeat(k)}`;
    const refused = await request(`${s.url}/s/${s.socket}?cb=s`, { method: 'POST', body: batch(11) });
    expect(refused.body).toMatchObject({ ok: false, error: 'bad_parameter' });
    const taken = await request(`${s.url}/s/${s.socket}?cb=s`, { method: 'POST', body: batch(10) });
    expect(taken.body).toEqual({ ok: true, n: 10 });
    await own.receivedCount(10);
    expect(own.received).toHaveLength(10);
  } finally {
    await svc.close();
    await own.close();
  }
});

const IDLE_FLOOD =
  'an upstream that keeps sending after an idle close gives its slot back at once, its connection within UPSTREAM_CLOSE_TIMEOUT_MS';
test(IDLE_FLOOD, async () => {
  const secret = 'relay-resources-secret-0123456789abcdef0123456789';
  const svc = await allInOne({
    AUTH: 'token',
    TOKEN_SECRET: secret,
    IDLE_TIMEOUT_MS: '300',
    MAX_BUFFERED_BYTES: '65536',
    UPSTREAM_CLOSE_TIMEOUT_MS: '1000',
  });
  const own = await startUpstream();
  try {
    const token = mintToken(secret, { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true, maxSockets: 1 });
    const s = await create(svc.base, { target: own.url, token });
    await sendGet(s, { d: 'flood', n: 1 });
    // nobody polls: the idle timeout closes it while the upstream floods
    await until(() => svc.relay!.get(s.socket) === undefined, 10_000, 'the idle close');
    await create(svc.base, { target: own.url, token }); // the slot is free again at once
    await until(() => own.closes.length >= 1, 10_000, "the flooding upstream's connection closed");
  } finally {
    await svc.close();
    await own.close();
  }
});

test('a poll answer the client does not read is dropped, connection and all, after ANSWER_WRITE_TIMEOUT_MS', async () => {
  const big = 32 * 1024 * 1024;
  const svc = await allInOne({ ANSWER_WRITE_TIMEOUT_MS: '500', MAX_MESSAGE_BYTES: String(big), MAX_BUFFERED_BYTES: String(2 * big) });
  try {
    const s = await create(svc.base, { target: up.url });
    await sendGet(s, { d: `big:${big - 1024}`, n: 1 });
    await until(() => (svc.relay!.get(s.socket)?.outbox.size ?? 0) > 0, 20_000, 'the big message queued');
    const connections = () => new Promise<number>((r) => svc.server.getConnections((_e, n) => r(n)));
    const reader = raw(svc.port);
    reader.socket.pause(); // reads nothing: the answer cannot leave the relay
    reader.socket.write(`GET /j/${s.socket}?ack=0 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(async () => (await connections()) >= 1, 10_000, 'the poll arrived');
    await until(async () => (await connections()) === 0, 15_000, 'the unread answer dropped');
    reader.socket.destroy();
  } finally {
    await svc.close();
  }
}, 40_000);
