/**
 * docker-compose.yml is not dead text. No Docker engine runs here, so this test reads the
 * compose file (and the Dockerfile's ENTRYPOINT and HEALTHCHECK) and launches the very same
 * services as local processes: same commands, same environment, with only what a container
 * network provides rewritten for loopback:
 *   - service host names (redis:6379) -> 127.0.0.1:<port of the local process>
 *   - published ports -> free local ports (PORT and PUBLIC_HOST follow), BIND -> 127.0.0.1
 *   - ALLOW_TARGETS=127.0.0.1, because the test's echo upstream lives on loopback
 * Then it drives sockets end to end through both routers and both relays.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { mintToken } from '../../router/token';
import { spawnCommand, type RoleProcess } from '../harness/processes';
import { freePort } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';
import { startUpstream } from '../helpers/upstream';
import { collect, create, request, sendGet } from '../helpers/wire';

const ROOT = path.resolve(__dirname, '../..');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
}

/** `${VAR:-default}` and `${VAR:?error}` as compose interpolates them. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind: string | undefined, rest: string) => {
    if (env[name]) return env[name] as string;
    if (kind === '?') throw new Error(`compose refuses to start: ${rest}`);
    return kind === '-' ? rest : '';
  });
}

test('compose has no default secret: without TOKEN_SECRET it refuses to start, saying how to make one', () => {
  const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
  for (const name of ['router1', 'router2', 'relay1', 'relay2', 'demo']) {
    expect(() => interpolate(String(compose.services[name].environment!.TOKEN_SECRET), {})).toThrow(/openssl rand -hex 32/);
  }
});

function dockerfile(): { entrypoint: string[]; healthcheck: string[] } {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(text)![1]) as string[];
  const healthcheck = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(text)![1]) as string[];
  return { entrypoint, healthcheck };
}

test('the compose services, run as processes, carry a socket end to end', async () => {
  const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };
  const { entrypoint, healthcheck } = dockerfile();
  expect(entrypoint[0]).toBe('node');
  const services = compose.services;
  expect(Object.keys(services).sort()).toEqual(['demo', 'redis', 'relay1', 'relay2', 'router1', 'router2']);

  // redis: the compose command, on a local port and a scratch directory
  const redisPort = await freePort();
  const redisCmd = services.redis.command!;
  expect(redisCmd[0]).toBe('redis-server');
  const redis: ChildProcess = spawn(
    redisCmd[0],
    [...redisCmd.slice(1), '--port', String(redisPort), '--bind', '127.0.0.1', '--dir', mkdtempSync(path.join(os.tmpdir(), 'ps-compose-'))],
    { stdio: 'ignore' },
  );

  await until(() => reachable(redisPort), 5000, 'redis-server up');
  const secret = randomBytes(32).toString('hex');
  const up = await startUpstream();
  const started: Record<string, RoleProcess> = {};
  const published: Record<string, number> = {};
  try {
    const ours = Object.entries(services).filter(([, s]) => s.build === '.');
    const local: Record<string, number> = {};
    for (const [name, s] of ours) {
      local[name] = await freePort();
      published[s.ports![0].split(':')[0]] = local[name];
    }
    /** compose's names and published ports, as one machine's loopback sees them */
    const onLoopback = (value: string) =>
      value
        .replace('redis://redis:6379', `redis://127.0.0.1:${redisPort}`)
        .replace(/\b([a-z0-9]+):8080\b/g, (m, service: string) => (local[service] ? `127.0.0.1:${local[service]}` : m))
        .replace(/localhost:(\d+)/g, (m, p: string) => (published[p] ? `localhost:${published[p]}` : m));
    for (const [name, s] of ours) {
      const port = local[name];
      const [hostPort] = s.ports![0].split(':');
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.environment ?? {})) env[k] = onLoopback(interpolate(String(v), { TOKEN_SECRET: secret }));
      env.PORT = String(port);
      env.BIND = '127.0.0.1';
      // each container has its own loopback; here they share one
      env.ADMIN_PORT = String(await freePort());
      env.ADMIN_BIND = '127.0.0.1';
      if (env.PUBLIC_HOST) env.PUBLIC_HOST = env.PUBLIC_HOST.replace(`:${hostPort}`, `:${port}`);
      if (env.ALLOW_TARGETS) env.ALLOW_TARGETS = '127.0.0.1';
      started[name] = await spawnCommand([process.execPath, ...entrypoint.slice(1), ...s.command!], env, 15_000);
    }

    // the image's HEALTHCHECK passes against every service
    for (const [name, p] of Object.entries(started)) {
      const code = await new Promise<number>((resolve) =>
        execFile(process.execPath, healthcheck.slice(1), { env: { PATH: process.env.PATH, ADMIN_PORT: String(p.adminPort) } }, (err) =>
          resolve(err ? 1 : 0),
        ),
      );
      expect({ name, code }).toEqual({ name, code: 0 });
    }

    const token = mintToken(secret, { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true });
    const routers = [started.router1, started.router2].map((r) => `http://localhost:${r.port}`);
    const hosts = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const s = await create(routers[i % 2], { target: up.url, token });
      hosts.add(s.fqdn.split('.').slice(1).join('.'));
      await sendGet(s, { d: `through compose ${i}`, n: 1 });
      expect((await collect(s, 1)).messages[0].data).toBe(`through compose ${i}`);
    }
    // the demo service: its page's token (signed with TOKEN_SECRET) carries a message from the page's
    // origin through a router and a relay to the demo's own echo, and back
    const demoBase = `http://localhost:${started.demo.port}`;
    const page = await request(`${demoBase}/`);
    const demoToken = /"token":"([^"]+)"/.exec(page.text)![1];
    const demoTarget = /new PolySocket\("([^"]+)"\)/.exec(page.text)![1];
    expect(page.text).toContain(`src="${routers[0]}/polysocket.js"`);
    const viaDemo = await create(routers[0], { target: demoTarget, token: demoToken }, { Origin: demoBase });
    await sendGet(viaDemo, { d: 'hello from the demo page', n: 1 });
    expect((await collect(viaDemo, 1)).messages[0].data).toBe('hello from the demo page');

    // both relays took sockets, each under its own public host
    expect([...hosts].sort()).toEqual([`relay1.localhost:${published['8081']}`, `relay2.localhost:${published['8082']}`]);
    for (const p of Object.values(started)) expect((await request(`http://localhost:${p.adminPort}/readyz`)).body).toEqual({ ok: true });
  } finally {
    await Promise.all(Object.values(started).map((p) => p.kill('SIGKILL')));
    redis.kill('SIGKILL');
    await up.close();
  }
}, 60_000);
