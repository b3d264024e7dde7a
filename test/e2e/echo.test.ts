/**
 * End to end, in both deployments: the all-in-one (embedded store) and split mode
 * (1 router, 2 relays, real Redis): create, text and binary echo both ways, upstream close.
 */
import { ownCluster, type OwnCluster } from '../helpers/redis-cluster';
import { allInOne, split } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { collect, create, sendGet, sendPost } from '../helpers/wire';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

describe.each([
  [
    'all-in-one',
    async () => {
      const s = await allInOne();
      return { base: s.base, close: () => s.close() };
    },
  ],
  [
    'split (1 router, 2 relays, Redis)',
    async () => {
      const s = await split({ routers: 1, relays: 2 });
      return { base: s.routers[0].base, close: () => s.close() };
    },
  ],
  [
    'split over a Redis Cluster',
    async () => {
      const cluster: OwnCluster = await ownCluster();
      const s = await split({ routers: 1, relays: 2, env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' } });
      return {
        base: s.routers[0].base,
        close: async () => {
          await s.close();
          cluster.stop();
        },
      };
    },
  ],
])('%s', (_name, start) => {
  let svc: { base: string; close(): Promise<void> };
  beforeAll(async () => {
    svc = await start();
  }, 120_000); // a Cluster of its own may take long to form on a busy machine
  afterAll(() => svc.close());

  test('text echoes both ways', async () => {
    const s = await create(svc.base, { target: up.url });
    await sendGet(s, { d: 'ping ünïcødé \u2028 </script>', t: 't', n: 1 });
    const { messages } = await collect(s, 1);
    expect(messages).toEqual([{ type: 'text', seq: 1, data: 'ping ünïcødé \u2028 </script>' }]);
  });

  test('binary echoes both ways', async () => {
    const s = await create(svc.base, { target: up.url });
    const bytes = Buffer.from(Array.from({ length: 256 }, (_v, i) => i));
    await sendPost(s, { d: bytes.toString('base64'), t: 'b', n: 1 });
    const { messages } = await collect(s, 1);
    expect(messages[0].type).toBe('binary');
    expect(Buffer.from(messages[0].data, 'base64')).toEqual(bytes);
  });

  test('an upstream-initiated close reaches the client with its code and reason', async () => {
    const s = await create(svc.base, { target: up.url });
    await sendGet(s, { d: 'hello', n: 1 });
    await sendGet(s, { d: 'close:4321:server says bye', n: 2 });
    const { messages } = await collect(s, 2);
    expect(messages).toEqual([
      { type: 'text', seq: 1, data: 'hello' },
      { type: 'close', seq: 2, code: 4321, reason: 'server says bye' },
    ]);
  });

  test('many messages in order, batched into few polls', async () => {
    const s = await create(svc.base, { target: up.url });
    for (let n = 1; n <= 50; n++) await sendGet(s, { d: `m${n}`, n });
    const { messages } = await collect(s, 50);
    expect(messages.map((m) => m.data)).toEqual(Array.from({ length: 50 }, (_v, i) => `m${i + 1}`));
  });
});
