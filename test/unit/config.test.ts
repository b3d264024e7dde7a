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
