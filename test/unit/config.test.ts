import { ConfigError, flagsToEnv, loadConfig } from '../../shared/config';

test('defaults need nothing for the all-in-one', () => {
  const c = loadConfig({});
  expect(c.port).toBe(8080);
  expect(c.pollMaxTtlMs).toBe(25000);
  expect(c.idleTimeoutMs).toBe(30000);
  expect(Object.isFrozen(c)).toBe(true);
});

test('every problem is reported at once, naming the variable', () => {
  let err: ConfigError | undefined;
  try {
    loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', SUBDOMAINS: 'maybe', HEARTBEAT_MS: '5000', RELAY_TTL_MS: '1000' }, 'relay');
  } catch (e) {
    err = e as ConfigError;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const text = err!.problems.join('\n');
  for (const name of ['PORT', 'LOG_LEVEL', 'SUBDOMAINS', 'REDIS_URL', 'RELAY_TTL_MS']) expect(text).toContain(name);
});

test('a router with AUTH=token needs a key', () => {
  expect(() => loadConfig({ REDIS_URL: 'redis://x' }, 'router')).toThrow(/TOKEN_SECRET/);
  expect(loadConfig({ REDIS_URL: 'redis://x', AUTH: 'none' }, 'router').auth).toBe('none');
});

test('flags map onto the environment names', () => {
  expect(flagsToEnv(['--port', '9000', '--poll-max-ttl-ms=100', 'extra'])).toEqual({
    env: { PORT: '9000', POLL_MAX_TTL_MS: '100' },
    rest: ['extra'],
  });
});

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
function problemsOf(env: Record<string, string>, role: 'all' | 'router' | 'relay' = 'all'): string[] {
  try {
    loadConfig(env, role);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

test('TRUST_PROXY entries are IPs or CIDRs whose prefix fits the family, checked at load', () => {
  expect(problemsOf({ TRUST_PROXY: '10.0.0.1, 10.0.0.0/8, fd00::/8, ::1' })).toEqual([]);
  expect(problemsOf({ TRUST_PROXY: 'not-an-ip,10.0.0.0/99,10.0.0.0/33,::/129' })).toEqual([
    'TRUST_PROXY: "not-an-ip" is not an IP or a CIDR (prefix at most 32 for IPv4, 128 for IPv6)',
    'TRUST_PROXY: "10.0.0.0/99" is not an IP or a CIDR (prefix at most 32 for IPv4, 128 for IPv6)',
    'TRUST_PROXY: "10.0.0.0/33" is not an IP or a CIDR (prefix at most 32 for IPv4, 128 for IPv6)',
    'TRUST_PROXY: "::/129" is not an IP or a CIDR (prefix at most 32 for IPv4, 128 for IPv6)',
  ]);
});

test('TOKEN_ALGORITHMS takes only algorithms jsonwebtoken verifies, and never none', () => {
  expect(problemsOf({ TOKEN_ALGORITHMS: 'HS256,HS512' })).toEqual([]);
  const problems = problemsOf({ TOKEN_ALGORITHMS: 'FOO,none' });
  expect(problems).toHaveLength(2);
  expect(problems[0]).toMatch(/^TOKEN_ALGORITHMS: "FOO" must be one of HS256, /);
  expect(problems[1]).toMatch(/^TOKEN_ALGORITHMS: "none" must be one of /);
});

test('a key and algorithms that do not go together are refused at load', () => {
  const secret = 'a'.repeat(8) + 'b'.repeat(8) + 'c'.repeat(8) + 'd'.repeat(8);
  expect(problemsOf({ TOKEN_SECRET: secret, TOKEN_ALGORITHMS: 'RS256' })[0]).toMatch(/TOKEN_SECRET goes with HS\* algorithms only/);
  expect(problemsOf({ TOKEN_PUBLIC_KEY: 'pem', TOKEN_ALGORITHMS: 'HS256' })[0]).toMatch(/TOKEN_PUBLIC_KEY goes with RS\*/);
});

test('ALLOW_TARGETS entries are IPs, CIDRs, hosts or host:port, checked at load', () => {
  expect(problemsOf({ ALLOW_TARGETS: '10.0.0.0/8,::1,echo.internal,[::1]:9000,echo.internal:80' })).toEqual([]);
  expect(problemsOf({ ALLOW_TARGETS: '::/999,not a host' })).toEqual([
    'ALLOW_TARGETS: "::/999" is not an IP, a CIDR, or a host with an optional :port',
    'ALLOW_TARGETS: "not a host" is not an IP, a CIDR, or a host with an optional :port',
  ]);
});

test('every bad setting is reported in one load, whatever its kind', () => {
  const problems = problemsOf({ TRUST_PROXY: 'x', TOKEN_ALGORITHMS: 'FOO', ALLOW_TARGETS: '::/999', ALLOW_PORTS: '0', RELAY_ID: 'a b' });
  expect(problems.map((p) => p.split(':')[0])).toEqual(['TOKEN_ALGORITHMS', 'TRUST_PROXY', 'ALLOW_PORTS', 'RELAY_ID', 'ALLOW_TARGETS']);
});

test('the admin port sits 1000 above the public one unless set, and is any free port beside PORT=0', () => {
  expect(loadConfig({}).adminPort).toBe(9080);
  expect(loadConfig({ PORT: '8081' }).adminPort).toBe(9081);
  expect(loadConfig({ PORT: '0' }).adminPort).toBe(0);
  expect(loadConfig({ PORT: '65000' }).adminPort).toBe(0);
  expect(loadConfig({ ADMIN_PORT: '9090' }).adminPort).toBe(9090);
});
