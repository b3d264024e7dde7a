/**
 * Builds and starts the roles: the all-in-one (router + relay + demo, embedded store), or a
 * router or a relay on its own over Redis. Each returns a handle tests can close; listening
 * on port 0 is fine.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TargetPolicy } from '../relay/target-policy';
import { relayHandler } from '../relay/http';
import { Relay } from '../relay/relay';
import { SocketCreator } from '../router/create';
import { routerRoutes } from '../router/http';
import { TokenVerifier, mintToken } from '../router/token';
import { clientScriptRoutes } from '../shared/client-script';
import { withListenPort, type Config } from '../shared/config';
import { createApp, finishApp } from '../shared/http-app';
import type { Logger } from '../shared/log';
import { Metrics } from '../shared/metrics';
import { opsRoutes } from '../shared/ops-routes';
import { MemoryStore } from '../shared/store/memory-store';
import { RedisStore } from '../shared/store/redis-store';
import type { CoordinationStore } from '../shared/store/store';
import { attachEchoTarget, demoPage } from './demo';

export interface Running {
  server: http.Server;
  port: number;
  config: Config;
  store: CoordinationStore;
  relay?: Relay;
  metrics: Metrics;
  /** the all-in-one's demo token (signed with its secret) */
  demoToken?: string;
  /** graceful: relays drain (clients get close 1001) */
  drain(): Promise<void>;
  /** immediate */
  close(): Promise<void>;
}

async function listen(server: http.Server, c: Config): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(c.port, c.bind, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function connectStore(c: Config, log: Logger, metrics: Metrics): Promise<CoordinationStore> {
  return RedisStore.connect({
    url: c.redisUrl ?? '', // loadConfig requires it for these roles
    cluster: c.redisCluster,
    prefix: c.storePrefix,
    log,
    onError: () => metrics.storeErrors.inc(),
  });
}

/** Router + relay + demo in one process on one port, with the embedded store. */
export async function startAllInOne(config: Config, log: Logger): Promise<Running> {
  const store = new MemoryStore();
  const metrics = new Metrics('all');
  const secret = config.tokenSecret ?? randomBytes(32).toString('base64url');
  const server = http.createServer();
  const port = await listen(server, config);
  // The demo echo lives on this very server (loopback), so the relay must be allowed to reach it.
  const c = withListenPort(
    { ...config, tokenSecret: secret, allowTargets: config.allowTargets.length ? config.allowTargets : ['localhost'] },
    port,
  );
  const relay = new Relay(c, { store, log, policy: new TargetPolicy(c.allowTargets), metrics });
  metrics.watchRelay(() => relay.snapshot());
  const creator = new SocketCreator(c, { store, log, verifier: c.auth === 'token' ? new TokenVerifier(c) : undefined, metrics });
  const origin = `http://localhost:${port}`;
  const demoToken = mintToken(secret, {
    targets: [`ws://localhost:${port}/echo`],
    origins: [origin, `http://127.0.0.1:${port}`],
    ttlSeconds: 7 * 24 * 3600,
    audience: c.tokenAudience,
    issuer: c.tokenIssuer,
  });

  const app = createApp(c.maxUrlBytes);
  app.get('/', (_req, res) => demoPage(res, { router: origin, token: demoToken, target: `ws://localhost:${port}/echo` }));
  app.use(opsRoutes({ store, relay }, metrics));
  app.use(clientScriptRoutes());
  app.use(routerRoutes(creator));
  finishApp(app, log);
  const relayFirst = relayHandler(relay, c);
  server.on('request', (req, res) => relayFirst(req, res) || app(req, res));
  attachEchoTarget(server, '/echo');
  await relay.start();
  log.info('all_in_one_started', { url: origin, auth: c.auth, ephemeralSecret: !config.tokenSecret });
  return {
    server,
    port,
    config: c,
    store,
    relay,
    metrics,
    demoToken,
    drain: async () => {
      await relay.drain();
      await closeServer(server);
      await store.close();
    },
    close: async () => {
      await relay.stop();
      await closeServer(server);
      await store.close();
    },
  };
}

export async function startRouter(config: Config, log: Logger, store?: CoordinationStore): Promise<Running> {
  const metrics = new Metrics('router');
  const s = store ?? (await connectStore(config, log, metrics));
  const creator = new SocketCreator(config, {
    store: s,
    log,
    verifier: config.auth === 'token' ? new TokenVerifier(config) : undefined,
    metrics,
  });
  const app = createApp(config.maxUrlBytes);
  app.use(opsRoutes({ store: s }, metrics));
  app.use(clientScriptRoutes());
  app.use(routerRoutes(creator));
  finishApp(app, log);
  const server = http.createServer(app);
  const port = await listen(server, config);
  log.info('router_started', { port });
  const close = async () => {
    await closeServer(server);
    if (!store) await s.close();
  };
  return { server, port, config: withListenPort(config, port), store: s, metrics, drain: close, close };
}

export async function startRelay(config: Config, log: Logger, store?: CoordinationStore): Promise<Running> {
  const metrics = new Metrics('relay');
  const s = store ?? (await connectStore(config, log, metrics));
  const server = http.createServer();
  const port = await listen(server, config);
  const c = withListenPort(config, port);
  const relay = new Relay(c, { store: s, log, policy: new TargetPolicy(c.allowTargets), metrics });
  metrics.watchRelay(() => relay.snapshot());
  const app = createApp(c.maxUrlBytes);
  app.use(opsRoutes({ store: s, relay }, metrics));
  app.use(clientScriptRoutes());
  finishApp(app, log);
  const relayFirst = relayHandler(relay, c);
  server.on('request', (req, res) => relayFirst(req, res) || app(req, res));
  await relay.start();
  const release = async () => {
    await closeServer(server);
    if (!store) await s.close();
  };
  return {
    server,
    port,
    config: c,
    store: s,
    relay,
    metrics,
    drain: async () => {
      await relay.drain();
      await release();
    },
    close: async () => {
      await relay.stop();
      await release();
    },
  };
}
