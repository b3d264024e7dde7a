/**
 * The `polysocket` command as operators meet it: help, token minting, and clear refusals of a
 * bad configuration (one line per problem, non-zero exit).
 */
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import jwt from 'jsonwebtoken';
import { CLI, ROOT } from '../harness/processes';
import { reachable } from '../harness/redis';
import { until } from '../harness/until';

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('help lists the commands and every setting with its default', async () => {
  const r = await run(['help']);
  expect(r.code).toBe(0);
  for (const s of ['start', 'router', 'relay', 'token', 'REDIS_URL', 'POLL_MAX_TTL_MS', '[25000]', 'IDLE_TIMEOUT_MS'])
    expect(r.stdout).toContain(s);
});

test('token mints a JWT with the claims asked for, signed with TOKEN_SECRET', async () => {
  const r = await run(
    ['token', '--target', 'wss://mqtt.example.com/ws', '--origin', 'https://app.example', '--max', '5', '--ttl', '600', '--once'],
    { TOKEN_SECRET: 's3cret-0123456789abcdef0123456789abcdef' },
  );
  expect(r.code).toBe(0);
  const claims = jwt.verify(r.stdout.trim(), 's3cret-0123456789abcdef0123456789abcdef', { algorithms: ['HS256'] }) as jwt.JwtPayload;
  expect(claims).toMatchObject({ targets: ['wss://mqtt.example.com/ws'], origins: ['https://app.example'], max_sockets: 5, once: true });
  expect(claims.exp! - claims.iat!).toBe(600);
});

test('token without a secret or target says what is missing', async () => {
  const r = await run(['token']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('TOKEN_SECRET must be set');
  expect(r.stderr).toContain('--target');
});

test('a relay without REDIS_URL and with a bad value refuses to start, naming each problem', async () => {
  const r = await run(['relay'], { PORT: 'abc', MAX_SOCKETS: '0' });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('REDIS_URL is required');
  expect(r.stderr).toContain('PORT="abc" is not a whole number');
  expect(r.stderr).toContain('MAX_SOCKETS=0 is out of range');
});

test('a relay whose Redis cannot be reached says so in one line and exits non-zero', async () => {
  const r = await run(['relay'], { REDIS_URL: 'redis://127.0.0.1:1' });
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain('store_unavailable: cannot reach Redis at redis://127.0.0.1:1');
});

test('an unknown command or flag is refused', async () => {
  expect((await run(['serve'])).stderr).toContain("unknown command 'serve'");
  expect((await run(['start', '--no-such-flag', '1'])).stderr).toContain('unknown option(s)');
});

describe('one line for each mistake, no stack', () => {
  const secret = { TOKEN_SECRET: 'cli-test-secret-0123456789abcdef0123456789abcdef' };
  test.each([
    [
      ['token', '--target', 'http://example.com/'],
      /^polysocket: target pattern "http:\/\/example.com\/" is not ws\[s\]:\/\/host\[:port\]\[\/path\]\n$/,
    ],
    [
      ['token', '--target', 'wss://x.example/', '--origin', '127.0.0.1:3000'],
      /^polysocket: origin pattern "127.0.0.1:3000" is not \*, or http\[s\]:\/\/host\[:port\]\n$/,
    ],
  ])('%j', async (args, line) => {
    const r = await run(args, secret);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(line);
  });

  test('REDIS_URL with another scheme says which scheme it takes', async () => {
    const r = await run(['relay'], { REDIS_URL: 'http://127.0.0.1:6379' });
    expect(r.stderr).toBe(
      'polysocket: REDIS_URL: "http://127.0.0.1:6379" must be redis://host:port (or rediss:// for TLS); Cluster seeds comma-separated\n',
    );
  });

  test('start names every bad address, CIDR and algorithm in one try, before it opens a port', async () => {
    const r = await run(['start'], {
      PORT: '0',
      TRUST_PROXY: 'not-an-ip,10.0.0.0/99',
      TOKEN_ALGORITHMS: 'FOO',
      ALLOW_TARGETS: '::/999',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('listening');
    expect(r.stderr).not.toMatch(/RangeError|ERR_OUT_OF_RANGE|\n\s+at /);
    for (const problem of [
      'TRUST_PROXY: "not-an-ip" is not an IP or a CIDR',
      'TRUST_PROXY: "10.0.0.0/99" is not an IP or a CIDR',
      'TOKEN_ALGORITHMS: "FOO" must be one of HS256',
      'ALLOW_TARGETS: "::/999" is not an IP, a CIDR',
    ])
      expect(r.stderr).toContain(problem);
  });

  test('a port already in use says so and what to do', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = await run(['start'], { PORT: String(port) });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`polysocket: port ${port} is already in use: stop what holds it, or pick another (PORT=… or --port …)\n`);
    } finally {
      holder.close();
    }
  });
});

test('started through npx, a SIGTERM to npx alone still drains the server and frees its port', async () => {
  const child = spawn('npx', ['polysocket', 'start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const started = () => /"event":"all_in_one_started"[^\n]*"port":(\d+)/.exec(out);
  await until(() => started() !== null, 30_000, 'started through npx');
  const port = Number(started()![1]);
  child.kill('SIGTERM'); // npx only: its `sh -c` and the server get no signal from us
  await until(() => /"event":"shutdown"/.test(out), 15_000, 'the server noticed and drained');
  await until(async () => !(await reachable(port)), 15_000, 'its port free again');
}, 60_000);
