/**
 * Security round 2, what a page and the logs learn: a code and a generic message for the page,
 * the details for the log, the close code the protocol promises, escaped client input in logs,
 * and the operations routes kept off the public port.
 */
import { createLogger } from '../../shared/log';
import { freePort } from '../harness/processes';
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { collect, create, request, sendGet } from '../helpers/wire';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

test('an unreachable upstream gives the page its code and a generic message; the address and error go to the log', async () => {
  const lines: string[] = [];
  const svc = await allInOne(
    {},
    createLogger('info', {}, (l) => lines.push(l)),
  );
  try {
    const port = await freePort();
    const a = await request(`${svc.base}/create?cb=cb&target=${encodeURIComponent(`ws://127.0.0.1:${port}/`)}`);
    expect(a.body).toEqual({ ok: false, error: 'upstream_unreachable', message: 'the target WebSocket server refused or did not answer' });
    const refused = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'socket_refused');
    expect(refused.detail).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  } finally {
    await svc.close();
  }
});

test('an upstream frame over MAX_MESSAGE_BYTES closes the socket with 1009, as docs/PROTOCOL.md §4.2 says', async () => {
  const svc = await allInOne({ MAX_MESSAGE_BYTES: '1024' });
  try {
    const s = await create(svc.base, { target: up.url });
    await sendGet(s, { d: 'big:5000', n: 1 });
    const { messages } = await collect(s, 1);
    expect(messages.at(-1)).toMatchObject({ type: 'close', code: 1009 });
  } finally {
    await svc.close();
  }
});

test("a refused create logs the client's 'from' bounded, with control and non-ASCII characters escaped", async () => {
  const lines: string[] = [];
  const svc = await allInOne(
    {},
    createLogger('info', {}, (l) => lines.push(l)),
  );
  try {
    const from = `evil\u0085\u001b[31m\u202e${'a'.repeat(300)}`;
    await request(`${svc.base}/create?cb=cb&target=${encodeURIComponent(up.url)}&from=${encodeURIComponent(from)}`);
    const refused = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'create_refused');
    expect(refused.error).toBe('bad_parameter');
    expect(refused.from).toMatch(/^evil\\u0085\\u001b\[31m\\u202ea+…$/);
    expect(refused.from.length).toBeLessThanOrEqual(120);
  } finally {
    await svc.close();
  }
});

describe('operations routes', () => {
  test('/healthz, /readyz and /metrics are not served on the public port', async () => {
    const svc = await allInOne();
    try {
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        expect((await request(`${svc.base}${path}`)).body).toMatchObject({ ok: false, error: 'not_found' });
        expect((await request(`${svc.admin}${path}`)).status).toBe(200);
      }
    } finally {
      await svc.close();
    }
  });

  test('with ADMIN_TOKEN they answer on the public port to that bearer token only', async () => {
    const svc = await allInOne({ ADMIN_TOKEN: 'ops-0123456789abcdef0123456789abcdef' });
    try {
      expect((await request(`${svc.base}/metrics`)).status).toBe(404);
      expect((await request(`${svc.base}/metrics`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(404);
      const ok = await request(`${svc.base}/metrics`, { headers: { Authorization: 'Bearer ops-0123456789abcdef0123456789abcdef' } });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('polysocket_');
    } finally {
      await svc.close();
    }
  });
});
