/**
 * PROTOCOL.md § Create: GET /create on the router.
 */
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { create, qs, request } from '../helpers/wire';

let up: Upstream;
let svc: Awaited<ReturnType<typeof allInOne>>;

beforeAll(async () => {
  up = await startUpstream({ protocols: ['mqtt', 'graphql-ws'] });
  svc = await allInOne();
});
afterAll(async () => {
  await svc.close();
  await up.close();
});

const createUrl = (params: Record<string, string | undefined>) => `${svc.base}/create?${qs(params)}`;

describe('a successful create', () => {
  test('answers ok with socket, fqdn and url once the upstream is open', async () => {
    const a = await request(createUrl({ cb: 'cb', target: up.url, from: 'test-1' }));
    expect(a.body).toMatchObject({ ok: true, protocol: '' });
    expect(a.body.socket).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(a.body.fqdn).toMatch(new RegExp(`^u[0-9a-f]{12}\\.localhost:${svc.port}$`));
    expect(a.body.url).toBe(`http://${a.body.fqdn}`);
    expect(up.sockets.size).toBeGreaterThan(0);
  });

  test('the uniq label is not derived from the socket id', async () => {
    const a = await create(svc.base, { target: up.url });
    expect(a.fqdn.split('.')[0]).not.toContain(a.socket.slice(0, 6));
  });

  test('every create gets a different socket id and host', async () => {
    const [a, b] = await Promise.all([create(svc.base, { target: up.url }), create(svc.base, { target: up.url })]);
    expect(a.socket).not.toBe(b.socket);
    expect(a.fqdn).not.toBe(b.fqdn);
  });

  test('JSONP framing: /**/cb(json); served as script, nosniff, no caching, status 200', async () => {
    const a = await request(createUrl({ cb: 'jQuery1234_5678', target: up.url }));
    expect(a.status).toBe(200);
    expect(a.text).toMatch(/^\/\*\*\/jQuery1234_5678\(\{.*\}\);$/);
    expect(a.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(a.headers['x-content-type-options']).toBe('nosniff');
    expect(a.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, max-age=0');
  });

  test('without cb the answer is plain JSON', async () => {
    const a = await request(createUrl({ target: up.url }));
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(a.body.ok).toBe(true);
  });

  test('subprotocols are offered upstream and the chosen one is returned', async () => {
    // the upstream prefers mqtt over graphql-ws; v9 it does not speak
    const a = await create(svc.base, { target: up.url, protocols: 'v9,graphql-ws,mqtt' });
    expect(a.protocol).toBe('mqtt');
  });

  test('the page origin is passed upstream as Origin', async () => {
    const before = up.origins.length;
    await create(svc.base, { target: up.url }, { Origin: 'http://page.example' });
    expect(up.origins[before]).toBe('http://page.example');
  });
});

describe('a failed create', () => {
  test('an upstream that refuses answers upstream_unreachable inside the JSONP callback', async () => {
    const closed = await startUpstream();
    await closed.close();
    const a = await request(createUrl({ cb: 'cb', target: closed.url }));
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ ok: false, error: 'upstream_unreachable' });
    expect(typeof a.body.message).toBe('string');
  });

  test('without cb the same failure carries its HTTP status (502)', async () => {
    const closed = await startUpstream();
    await closed.close();
    const a = await request(createUrl({ target: closed.url }));
    expect(a.status).toBe(502);
    expect(a.body.error).toBe('upstream_unreachable');
  });

  test.each([
    ['missing target', { target: undefined }, 'bad_target'],
    ['http: target', { target: 'http://127.0.0.1:1/' }, 'bad_target'],
    ['ws+unix: target', { target: 'ws+unix:/tmp/x.sock' }, 'bad_target'],
    ['relative target', { target: '/echo' }, 'bad_target'],
    ['target with credentials', { target: 'ws://u:p@127.0.0.1:1/' }, 'bad_target'],
    ['bad subprotocol', { protocols: 'a b' }, 'bad_protocols'],
    ['repeated subprotocol', { protocols: 'a,a' }, 'bad_protocols'],
    ['over-long from', { from: 'x'.repeat(101) }, 'bad_parameter'],
  ])('%s answers %s', async (_name, params, code) => {
    const a = await request(createUrl({ cb: 'cb', target: up.url, ...params }));
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ ok: false, error: code });
  });

  test('a repeated parameter is malformed', async () => {
    const a = await request(`${svc.base}/create?cb=cb&target=${encodeURIComponent(up.url)}&target=${encodeURIComponent(up.url)}`);
    expect(a.body).toMatchObject({ ok: false, error: 'bad_parameter' });
  });

  test.each(['alert(1)//', '<script>', 'a..b', '1abc', 'a b', 'x'.repeat(129)])('callback %j is refused without echoing it', async (cb) => {
    const a = await request(createUrl({ cb, target: up.url }));
    expect(a.status).toBe(400);
    expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(a.body).toMatchObject({ ok: false, error: 'bad_callback' });
    expect(a.text).not.toContain(cb);
  });

  test.each(['POST', 'HEAD', 'PUT'])('%s /create answers method_not_allowed and opens nothing', async (method) => {
    const before = up.sockets.size;
    const a = await request(createUrl({ target: up.url }), { method, body: method === 'HEAD' ? undefined : '' });
    expect(a.status).toBe(405);
    if (method !== 'HEAD') expect(a.body).toMatchObject({ ok: false, error: 'method_not_allowed' });
    expect(up.sockets.size).toBe(before);
  });

  test('an unknown path answers not_found', async () => {
    const a = await request(`${svc.base}/nope?cb=cb`);
    expect(a.body).toMatchObject({ ok: false, error: 'not_found' });
  });
});
