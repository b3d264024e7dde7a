/**
 * A few thousand random and malformed requests at every endpoint of a running router and relay
 * (real processes): each gets a well-formed answer with a catalogued code, nothing answers
 * `internal`, both processes stay up, and an existing socket keeps echoing throughout.
 */
import { ERRORS, isErrorCode } from '../../shared/errors';
import { mintToken } from '../../router/token';
import { spawnRole, type RoleProcess } from '../harness/processes';
import { REDIS_URL, uniquePrefix } from '../helpers/services';
import { startUpstream, type Upstream } from '../helpers/upstream';
import { collect, create, request, sendGet, type Answer, type Opened } from '../helpers/wire';

const SECRET = 'fuzz-secret-0123456789abcdef0123456789abcdef';
const REQUESTS = 3000;
const PARALLEL = 20;

/** mulberry32: the same requests on every run */
function prng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let up: Upstream;
let router: RoleProcess;
let relay: RoleProcess;
let witness: Opened;
let victim: Opened;
let token: string;

beforeAll(async () => {
  up = await startUpstream();
  const env = {
    REDIS_URL,
    STORE_PREFIX: uniquePrefix('fuzz'),
    AUTH: 'token',
    TOKEN_SECRET: SECRET,
    ALLOW_TARGETS: '127.0.0.1',
    POLL_MAX_TTL_MS: '200',
    LOG_LEVEL: 'warn',
  };
  relay = await spawnRole('relay', { ...env, LOG_LEVEL: 'info' });
  router = await spawnRole('router', { ...env, LOG_LEVEL: 'info' });
  token = mintToken(SECRET, { targets: ['ws://127.0.0.1:*'], allowNoOrigin: true });
  witness = await create(`http://localhost:${router.port}`, { target: up.url, token });
  victim = await create(`http://localhost:${router.port}`, { target: up.url, token });
}, 20_000);

afterAll(async () => {
  await Promise.all([router?.kill('SIGKILL'), relay?.kill('SIGKILL')]);
  await up?.close();
});

function randomRequest(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const junk = () =>
    pick([
      '',
      'x',
      '0',
      '-1',
      '1.5',
      '99999999999999999999',
      'NaN',
      '%00',
      '%ff%fe',
      '<script>alert(1)</script>',
      'alert(1)//',
      '\u2028\u2029',
      'é☃𝄞',
      'a'.repeat(3000),
      'ws://127.0.0.1:1/',
      'ws+unix:/x',
      'http://x/',
      'AAAA',
      '====',
      'jQuery_1.cb',
      token,
      `${token}x`,
      'eyJhbGciOiJub25lIn0.e30.',
      String(Math.floor(rand() * 1e6)),
    ]);
  const id = pick([victim.socket, 'A'.repeat(24), 'short', '..%2f..%2fetc', 'x'.repeat(300), '%2e%2e', '']);
  const path = pick([
    '/create',
    `/s/${id}`,
    `/j/${id}`,
    '/s/',
    '/j/',
    '/',
    `/${id}`,
    '/create/x',
    '/polysocket.js',
    '/%ff',
    '/s/a/b',
    '/j?x=1',
  ]);
  const keys = ['cb', 'target', 'token', 'from', 'protocols', 'd', 't', 'n', 'c', 'ttl', 'ack', 'code', 'reason', 'zz', 'cb'];
  const params: string[] = [];
  const count = Math.floor(rand() * 7);
  for (let i = 0; i < count; i++) params.push(`${encodeURIComponent(pick(keys))}=${encodeURIComponent(junk())}`);
  if (rand() < 0.3) params.push('cb=cb');
  if (rand() < 0.2) params.push(`target=${encodeURIComponent(up.url)}&token=${token}`);
  const method = pick(['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
  const body =
    method === 'POST' ? pick(['', 'd=x&t=t&n=1', 'd=%zz', 'n=1&t=t&d=a&t=b', '\u0000\u0001binary', 'x'.repeat(70_000), junk()]) : undefined;
  const headers: Record<string, string> = {};
  if (rand() < 0.3)
    headers['Content-Type'] = pick([
      'text/plain',
      'application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/plain; charset=utf-7',
    ]);
  if (rand() < 0.2) headers.Origin = pick(['http://evil.example', 'null', 'x']);
  const base = path === '/create' || rand() < 0.3 ? router.port : relay.port;
  return { url: `http://localhost:${base}${path}${params.length ? `?${params.join('&')}` : ''}`, method, body, headers, path };
}

function checkAnswer(a: Answer, method: string, path: string): string | undefined {
  if (method === 'OPTIONS' && a.status === 204) return undefined;
  if (path === '/polysocket.js' && method === 'GET')
    return a.status === 200 && a.text.includes('polysocket') ? undefined : 'client script missing';
  const b = a.body;
  if (!b || typeof b.ok !== 'boolean') return `not a JSON answer: ${a.status} ${a.text.slice(0, 80)}`;
  if (b.ok) return [200, 201].includes(a.status) ? undefined : `ok with status ${a.status}`;
  if (!isErrorCode(b.error)) return `unknown code ${b.error}`;
  if (b.error === 'internal') return `internal error: ${a.text.slice(0, 120)}`;
  if (typeof b.message !== 'string') return 'error without a message';
  const jsonp = a.text.startsWith('/**/');
  if (jsonp ? a.status !== 200 : a.status !== ERRORS[b.error as keyof typeof ERRORS].status) return `status ${a.status} for ${b.error}`;
  const type = a.headers['content-type'] ?? '';
  if (!(jsonp ? type.startsWith('application/javascript') : type.startsWith('application/json'))) return `content type ${type}`;
  if (a.headers['x-content-type-options'] !== 'nosniff') return 'no nosniff';
  return undefined;
}

test(`${REQUESTS} random and malformed requests: well-formed errors, processes up, the witness socket echoes`, async () => {
  const rand = prng(20261124);
  const problems: string[] = [];
  let ack = 0;
  let n = 0;
  for (let done = 0; done < REQUESTS; done += PARALLEL) {
    const batch = Array.from({ length: PARALLEL }, () => randomRequest(rand));
    const answers = await Promise.all(
      batch.map((r) => request(r.url, { method: r.method, body: r.body, headers: r.headers }).catch((e: Error) => e)),
    );
    answers.forEach((a, i) => {
      const problem = a instanceof Error ? `no answer: ${a.message}` : checkAnswer(a, batch[i].method, batch[i].path);
      if (problem) problems.push(`${batch[i].method} ${batch[i].url.slice(0, 150)} -> ${problem}`);
    });
    if (done % 500 === 0) {
      await sendGet(witness, { d: `still here ${done}`, n: ++n });
      const got = await collect(witness, 1, { ack });
      ack = got.ack;
      expect(got.messages[0].data).toBe(`still here ${done}`);
    }
  }
  expect(problems.slice(0, 10)).toEqual([]);
  expect(router.child.exitCode).toBeNull();
  expect(relay.child.exitCode).toBeNull();
  await sendGet(witness, { d: 'after the storm', n: ++n });
  expect((await collect(witness, 1, { ack })).messages[0].data).toBe('after the storm');
  await expect(create(`http://localhost:${router.port}`, { target: up.url, token })).resolves.toMatchObject({ ok: true });
}, 60_000);
