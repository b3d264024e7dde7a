/**
 * Unmodified WebSocket client libraries through the very example pages of examples/ (served by
 * examples/server.js, the token backend, with a signed-in user), against their real servers:
 *   mqtt.js 5        ↔ Mosquitto's websockets listener
 *   socket.io 4      ↔ the socket.io server (websocket transport only: no HTTP fallback of its own)
 *   graphql-ws 6     ↔ graphql-ws on `ws` (subprotocol graphql-transport-ws), query and subscription
 *   @stomp/stompjs 7 ↔ a STOMP 1.2 broker (subprotocols v10–v12.stomp)
 * Two ways to reach the tunnel, each proved for every library:
 *   - forced (`?force=1`), in every engine (Chromium, Firefox, WebKit: test/helpers/engines);
 *   - fallback mode, the page's default, in every engine behind Debian's squid with its default rule
 *     (CONNECT only to 443): the native attempt is refused by the proxy and the same socket goes on
 *     over the tunnel, with no line of page code.
 * Either way every library talks to its server through polysocket (router, relay, upstream).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';
import { freePort } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';
import { ALL_ENGINES, clearLocalStorage, type Engine, enginesToRun, launchEngine } from '../helpers/engines';
import { type Squid, startSquid } from '../helpers/proxies';
import { allInOne } from '../helpers/services';
import { type StompBroker, startStompBroker } from '../helpers/stomp-broker';

// examples/server.js is the application backend of the example pages (plain JavaScript)
const { createExampleApp } = require('../../examples/server') as {
  createExampleApp: (o: { secret: string; router: string; targets: string[] }) => http.RequestListener;
};
// graphql-ws publishes this entry point through package exports only, which this tsconfig's
// module resolution does not read; jest resolves it at run time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as { useServer: (options: { schema: GraphQLSchema }, wss: WebSocketServer) => unknown };

const SECRET = 'libraries-test-secret-0123456789abcdef0123456789abcdef';

async function listening(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** The four libraries' real servers, started once for the file. */
interface Servers {
  mqtt: string;
  socketIo: string;
  graphql: string;
  stomp: StompBroker;
  close(): Promise<void>;
}

async function startServers(): Promise<Servers> {
  // Mosquitto 2.0.11 needs a plain listener too, and socket_domain to bind websockets to IPv4 loopback.
  const [plain, wsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ps-mosq-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${plain} 127.0.0.1\nlistener ${wsPort} 127.0.0.1\nprotocol websockets\n` +
      'socket_domain ipv4\nallow_anonymous true\npersistence false\n',
  );
  const mosquitto: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const stopMosquitto = () => {
    mosquitto.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(() => reachable(wsPort), 10_000, 'mosquitto listening');

    const ioServer = http.createServer();
    const io = new SocketIoServer(ioServer, { transports: ['websocket'], cors: { origin: '*' } });
    io.on('connection', (socket) => {
      socket.emit('welcome', { id: socket.id });
      // acknowledgements carry the data back: text, and binary as binary
      socket.on('echo', (data: unknown, ack: (d: unknown) => void) => ack(data));
    });

    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: {
          countdown: {
            type: GraphQLInt,
            args: { from: { type: new GraphQLNonNull(GraphQLInt) } },
            subscribe: async function* (_root: unknown, args: { from: number }) {
              for (let i = args.from; i >= 0; i--) yield { countdown: i };
            },
          },
        },
      }),
    });
    const gqlServer = http.createServer();
    const wss = new WebSocketServer({ server: gqlServer, path: '/graphql' });
    useServer({ schema }, wss);

    const [ioPort, gqlPort, stomp] = await Promise.all([listening(ioServer), listening(gqlServer), startStompBroker()]);
    return {
      mqtt: `ws://127.0.0.1:${wsPort}`,
      socketIo: `http://127.0.0.1:${ioPort}`,
      graphql: `ws://127.0.0.1:${gqlPort}/graphql`,
      stomp,
      async close() {
        io.close();
        for (const c of wss.clients) c.terminate();
        wss.close();
        await Promise.all([new Promise((r) => ioServer.close(r)), new Promise((r) => gqlServer.close(r)), stomp.close()]);
        stopMosquitto();
      },
    };
  } catch (e) {
    stopMosquitto();
    throw e;
  }
}

/** polysocket and the example application in front of it, as an operator and a site run them. */
interface Site {
  svc: Awaited<ReturnType<typeof allInOne>>;
  examples: http.Server;
  base: string;
  /** messages the relay carried to upstreams: proof that a library's frames went through the tunnel */
  relayed(): number;
  close(): Promise<void>;
}

async function startSite(env: Record<string, string> = {}): Promise<Site> {
  const svc = await allInOne({ AUTH: 'token', TOKEN_SECRET: SECRET, ...env });
  // the application backend of examples/, minting per-user tokens for the servers above
  const examples = http.createServer(createExampleApp({ secret: SECRET, router: svc.base, targets: ['ws://127.0.0.1:*'] }));
  const base = `http://localhost:${await listening(examples)}`;
  return {
    svc,
    examples,
    base,
    relayed: () => svc.relay!.snapshot().stats.messagesToUpstream,
    async close() {
      await Promise.all([svc.close(), new Promise((r) => examples.close(r))]);
    },
  };
}

/** Opens a page and resolves with its `window.result` (a promise in the page), whichever browser. */
type OpenExample = (url: string) => Promise<any>;

/** Signs in on the example backend, opens examples/<name>.html and waits for its result. */
function runExample(open: OpenExample, site: Site, name: string, target: string, o: { force: boolean }): Promise<any> {
  const next = `/${name}.html?${o.force ? 'force=1&' : ''}target=${encodeURIComponent(target)}`;
  return open(`${site.base}/login?user=tester&next=${encodeURIComponent(next)}`);
}

/** One library: its example page, its server, what the page must report, what must reach the relay. */
interface Library {
  title: string;
  page: string;
  target(s: Servers): string;
  expected: Record<string, unknown>;
  /** upstream-bound frames at least: a library that got an answer without the tunnel carries none */
  minRelayed: number;
  /** what its server saw, where the server keeps a record */
  serverSaw?(s: Servers, from: number): unknown;
  expectedServerSaw?: unknown;
}

const LIBRARIES: Library[] = [
  {
    title: 'mqtt.js against Mosquitto: connect, subscribe, publish and receive',
    page: 'mqtt',
    target: (s) => s.mqtt,
    expected: { message: { topic: 'polysocket/example', payload: 'hello mqtt' }, tunnelled: true },
    minRelayed: 3, // CONNECT, SUBSCRIBE, PUBLISH
  },
  {
    title: 'socket.io-client (websocket transport): events and acks with text and binary',
    page: 'socket.io',
    target: (s) => s.socketIo,
    expected: { gotId: true, text: { hello: 'socket.io' }, binary: [1, 2, 250], transport: 'websocket', tunnelled: true },
    minRelayed: 4, // the connect packet and two events, the binary one with its attachment frame
  },
  {
    title: 'graphql-ws: a query and a subscription over subprotocol graphql-transport-ws',
    page: 'graphql-ws',
    target: (s) => s.graphql,
    expected: { answer: { data: { hello: 'world' } }, counted: [3, 2, 1, 0], protocol: 'graphql-transport-ws', tunnelled: true },
    minRelayed: 3, // connection_init and two subscribes
  },
  {
    title: '@stomp/stompjs against a STOMP broker: connect, subscribe, send, receive, disconnect with a receipt',
    page: 'stomp',
    target: (s) => s.stomp.url,
    expected: { version: '1.2', body: 'hello stomp ✓', protocol: 'v12.stomp', tunnelled: true },
    minRelayed: 4,
    serverSaw: (s, from) => s.stomp.received.slice(from),
    expectedServerSaw: ['CONNECT', 'SUBSCRIBE', 'SEND', 'DISCONNECT'],
  },
];

/** Runs one library's example and holds it to what the library and its server must show. */
async function proveLibrary(lib: Library, servers: Servers, site: Site, open: OpenExample, o: { force: boolean }) {
  const relayedBefore = site.relayed();
  const sawBefore = servers.stomp.received.length;
  const r = await runExample(open, site, lib.page, lib.target(servers), o);
  expect(r).toEqual(lib.expected);
  expect(site.relayed() - relayedBefore).toBeGreaterThanOrEqual(lib.minRelayed);
  if (lib.serverSaw) expect(lib.serverSaw(servers, sawBefore)).toEqual(lib.expectedServerSaw);
}

let servers: Servers;
let site: Site;

beforeAll(async () => {
  [servers, site] = await Promise.all([startServers(), startSite()]);
}, 30_000);

afterAll(async () => {
  await Promise.all([servers?.close(), site?.close()]);
});

test('the example backend hands tokens to signed-in users only', async () => {
  const anonymous = await fetch(`${site.base}/token`);
  expect(anonymous.status).toBe(401);
});

describe.each(enginesToRun(ALL_ENGINES))('%s, tunnel forced', (name) => {
  let engine: Engine;
  const open = opener(() => engine, 20_000);
  beforeAll(async () => {
    engine = await launchEngine(name);
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
  });

  test.each(LIBRARIES.map((l) => [l.title, l] as const))('%s', async (_title, lib) => {
    await proveLibrary(lib, servers, site, open, { force: true });
  });
});

/** Opens example pages in `engine` and resolves with each page's result (what the page said, on a failure). */
function opener(engine: () => Engine, timeoutMs: number): OpenExample {
  return async (url) => {
    const page = await engine().newPage();
    try {
      await page.goto(url);
      try {
        await page.waitFor(() => (window as any).result !== undefined, undefined, timeoutMs);
        return await page.evaluate(() => (window as any).result);
      } catch (e) {
        throw new Error(`${(e as Error).message}\npage console: ${JSON.stringify(await page.console())}`);
      }
    } finally {
      await page.close();
    }
  };
}

describe.each(enginesToRun(ALL_ENGINES))("%s, fallback mode behind squid's default rule (CONNECT only to 443)", (name) => {
  let squid: Squid;
  let engine: Engine;
  let proxied: Site;
  const open = opener(() => engine, 30_000);
  beforeAll(async () => {
    // one host for every socket: the proxy resolves names itself, and no resolver here has wildcard *.localhost
    [squid, proxied] = await Promise.all([startSquid({ connect: 'ssl-ports' }), startSite({ SUBDOMAINS: 'false' })]);
    engine = await launchEngine(name, { proxy: squid.url });
  }, 60_000);
  afterAll(async () => {
    await engine?.close();
    await Promise.all([squid?.close(), proxied?.close()]);
  });

  /**
   * A fallback is remembered for the router in the site's localStorage (docs/CLIENT.md), and
   * WebKit's tabs share it: each library starts from a browser that remembers none, so its own
   * native attempt is made.
   */
  const forgetFallbacks = () => clearLocalStorage(engine, `${proxied.base}/config.js`);

  test.each(LIBRARIES.map((l) => [l.title, l] as const))('%s', async (_title, lib) => {
    await forgetFallbacks();
    await proveLibrary(lib, servers, proxied, open, { force: false });
    // the library's own native attempt went to the proxy, which refused it (Chromium's and Firefox's
    // CONNECT by squid's rule; WebKit asks squid itself for the ws: URL, which squid answers 501):
    // the page never forced the tunnel
    const server = new URL(lib.target(servers)).host;
    const asked = () => [...squid.connects(), ...squid.upgrades()].includes(server);
    await until(asked, 10_000, `the native attempt to ${server} in squid's log`);
    const refused = (l: string) => l.includes(server) && (l.includes('TCP_DENIED') || l.includes('/501 '));
    expect(squid.accessLog().some(refused)).toBe(true);
  });
});
