/**
 * NETWORK=true: the all-in-one reached from another machine (an old-IE virtual machine, say) by
 * whatever address or name the page used. Loopback stands in for the network: 127.0.0.2 is
 * "another address of this machine".
 */
import { allInOne } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { collect, create, request, sendGet } from '../helpers/wire';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

test('socket URLs follow the host the page asked at; an IP address gets no subdomain', async () => {
  // NETWORK binds every address (0.0.0.0); the traffic here stays on loopback
  const svc = await allInOne({ NETWORK: 'true' });
  try {
    const byIp = await create(svc.base, { target: up.url }, { Host: `127.0.0.2:${svc.port}` });
    expect(byIp.url).toBe(`http://127.0.0.2:${svc.port}`);
    const byName = await create(svc.base, { target: up.url }, { Host: `localhost:${svc.port}` });
    expect(byName.url).toMatch(new RegExp(`^http://u[0-9a-f]{12}\\.localhost:${svc.port}$`));
    await sendGet(byIp, { d: 'over the network', n: 1 });
    expect((await collect(byIp, 1)).messages[0].data).toBe('over the network');
  } finally {
    await svc.close();
  }
});

test("the demo page's token admits the page's own origin, whatever host it was opened at", async () => {
  const svc = await allInOne({ NETWORK: 'true', BIND: '127.0.0.1', AUTH: 'token', ALLOW_TARGETS: '' });
  try {
    const page = await request(`${svc.base}/`, { headers: { Host: `127.0.0.2:${svc.port}` } });
    const token = /"token":"([^"]+)"/.exec(page.text)![1];
    const s = await create(
      svc.base,
      { target: `ws://localhost:${svc.port}/echo`, token },
      { Host: `127.0.0.2:${svc.port}`, Origin: `http://127.0.0.2:${svc.port}` },
    );
    expect(s.url).toBe(`http://127.0.0.2:${svc.port}`);
  } finally {
    await svc.close();
  }
});

test('without NETWORK the request host is not used: URLs name localhost, as before', async () => {
  const svc = await allInOne();
  try {
    const s = await create(svc.base, { target: up.url }, { Host: `127.0.0.2:${svc.port}` });
    expect(s.url).toMatch(new RegExp(`\\.localhost:${svc.port}$`));
  } finally {
    await svc.close();
  }
});
