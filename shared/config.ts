/**
 * Every setting, read once from the environment at start, validated all together and frozen.
 * The table below is the single source for parsing, defaults, `--help` and the README.
 */
import { randomBytes } from 'node:crypto';
import { parseAddressRange, parseTargetAllowance } from './addresses';
import { HOST_AND_PORT } from './urls';

type Kind = 'int' | 'string' | 'bool' | 'list' | 'enum';

/** What is wrong with one value (a list's item, or a whole string), or undefined when it is fine. */
type Check = (value: string) => string | undefined;

interface Setting {
  env: string;
  key: string;
  kind: Kind;
  /** Default as the environment would spell it; undefined = unset. */
  def?: string;
  min?: number;
  max?: number;
  /** an enum's values, or the values a list's items may take */
  values?: readonly string[];
  /** checked once at start, beside every other setting's problems */
  check?: Check;
  roles: readonly ('router' | 'relay' | 'all')[];
  doc: string;
}

/** The JWT algorithms jsonwebtoken verifies ('none' is never accepted). */
export const TOKEN_ALGORITHM_NAMES = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

const isPort: Check = (v) => (/^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'is not a port');

const SETTINGS = [
  {
    env: 'PORT',
    key: 'port',
    kind: 'int',
    def: '8080',
    min: 0,
    max: 65535,
    roles: ['all', 'router', 'relay'],
    doc: 'TCP port to listen on (0 = any free port)',
  },
  {
    env: 'BIND',
    key: 'bind',
    kind: 'string',
    def: '127.0.0.1',
    roles: ['all', 'router', 'relay'],
    doc: 'address to bind (0.0.0.0 in containers)',
  },
  {
    env: 'LOG_LEVEL',
    key: 'logLevel',
    kind: 'enum',
    def: 'info',
    values: ['debug', 'info', 'warn', 'error', 'silent'],
    roles: ['all', 'router', 'relay'],
    doc: 'log level of the JSON log lines on stdout',
  },
  {
    env: 'REDIS_URL',
    key: 'redisUrl',
    kind: 'string',
    roles: ['router', 'relay'],
    check: (v) =>
      v.split(',').every((u) => /^rediss?:\/\/[^/\s]+/.test(u.trim()))
        ? undefined
        : 'must be redis://host:port (or rediss:// for TLS); Cluster seeds comma-separated',
    doc: 'Redis URL of the coordination store (required for router and relay)',
  },
  {
    env: 'REDIS_CLUSTER',
    key: 'redisCluster',
    kind: 'bool',
    def: 'false',
    roles: ['router', 'relay'],
    doc: 'REDIS_URL lists Redis Cluster seed nodes (comma-separated); keys share one hash tag',
  },
  {
    env: 'STORE_PREFIX',
    key: 'storePrefix',
    kind: 'string',
    def: 'ps:',
    roles: ['router', 'relay'],
    doc: 'prefix of every Redis key and channel',
  },
  {
    env: 'CREATE_TIMEOUT_MS',
    key: 'createTimeoutMs',
    kind: 'int',
    def: '10000',
    min: 100,
    max: 120000,
    roles: ['all', 'router'],
    doc: 'how long /create waits for the relay to open the upstream',
  },
  {
    env: 'MAX_PENDING_CREATES',
    key: 'maxPendingCreates',
    kind: 'int',
    def: '1000',
    min: 1,
    max: 1000000,
    roles: ['all', 'router'],
    doc: 'creates in progress at once per router; more get too_many_pending',
  },
  {
    env: 'AUTH',
    key: 'auth',
    kind: 'enum',
    def: 'token',
    values: ['token', 'none'],
    roles: ['all', 'router'],
    doc: "'token' requires a signed JWT on /create; 'none' lets anyone open any allowed target",
  },
  {
    env: 'TOKEN_SECRET',
    key: 'tokenSecret',
    kind: 'string',
    roles: ['all', 'router'],
    doc: 'HMAC secret that verifies (and with `polysocket token`, signs) tokens',
  },
  {
    env: 'TOKEN_PUBLIC_KEY',
    key: 'tokenPublicKey',
    kind: 'string',
    roles: ['router'],
    doc: 'PEM public key (RS256/ES256) that verifies tokens, instead of TOKEN_SECRET',
  },
  {
    env: 'TOKEN_ALGORITHMS',
    key: 'tokenAlgorithms',
    kind: 'list',
    def: 'HS256',
    values: TOKEN_ALGORITHM_NAMES,
    roles: ['all', 'router'],
    doc: 'comma-separated JWT algorithms accepted',
  },
  { env: 'TOKEN_AUDIENCE', key: 'tokenAudience', kind: 'string', roles: ['all', 'router'], doc: 'required aud claim, when set' },
  { env: 'TOKEN_ISSUER', key: 'tokenIssuer', kind: 'string', roles: ['all', 'router'], doc: 'required iss claim, when set' },
  {
    env: 'TOKEN_CLOCK_TOLERANCE_S',
    key: 'tokenClockToleranceS',
    kind: 'int',
    def: '5',
    min: 0,
    max: 300,
    roles: ['all', 'router'],
    doc: 'seconds of clock skew allowed on exp and nbf',
  },
  {
    env: 'CREATES_PER_MINUTE_PER_IP',
    key: 'createsPerMinutePerIp',
    kind: 'int',
    def: '600',
    min: 1,
    max: 10000000,
    roles: ['all', 'router'],
    doc: 'rate limit of /create per client address',
  },
  {
    env: 'CREATES_PER_MINUTE_PER_TOKEN',
    key: 'createsPerMinutePerToken',
    kind: 'int',
    def: '600',
    min: 1,
    max: 10000000,
    roles: ['all', 'router'],
    doc: 'rate limit of /create per token',
  },
  {
    env: 'LISTEN_BACKLOG',
    key: 'listenBacklog',
    kind: 'int',
    def: '4096',
    min: 1,
    max: 65535,
    roles: ['all', 'router', 'relay'],
    doc: 'connections the kernel queues unaccepted (capped by net.core.somaxconn); thousands of polls reconnect at once',
  },
  {
    env: 'TRUST_PROXY',
    key: 'trustProxy',
    kind: 'list',
    def: '',
    roles: ['all', 'router'],
    check: (v) => (parseAddressRange(v) ? undefined : 'is not an IP or a CIDR (prefix at most 32 for IPv4, 128 for IPv6)'),
    doc: 'IPs or CIDRs of proxies in front whose X-Forwarded-For/-Proto/-Host are believed (rate limits, logs, and what goes upstream)',
  },
  {
    env: 'TLS_CERT_FILE',
    key: 'tlsCertFile',
    kind: 'string',
    roles: ['all', 'router', 'relay'],
    doc: 'PEM certificate chain: the public port speaks HTTPS (reloaded on SIGHUP); with TLS_KEY_FILE',
  },
  { env: 'TLS_KEY_FILE', key: 'tlsKeyFile', kind: 'string', roles: ['all', 'router', 'relay'], doc: 'PEM private key of TLS_CERT_FILE' },
  {
    env: 'TLS_PROFILE',
    key: 'tlsProfile',
    kind: 'enum',
    def: 'modern',
    values: ['modern', 'legacy'],
    roles: ['all', 'router', 'relay'],
    doc: "'modern': TLS 1.2 and up; 'legacy': also TLS 1.0/1.1 and the AES-CBC-SHA suites of IE 7-10 (docs/DEPLOY.md)",
  },
  {
    env: 'TOKEN_MAX_TTL_S',
    key: 'tokenMaxTtlS',
    kind: 'int',
    def: '604800',
    min: 0,
    max: 315360000,
    roles: ['all', 'router'],
    doc: 'longest a token may live (exp from now); a token without exp is refused unless this is 0',
  },
  {
    env: 'NETWORK',
    key: 'network',
    kind: 'bool',
    def: 'false',
    roles: ['all'],
    doc: "reachable from other machines: BIND 0.0.0.0, socket URLs built from the request's host, no subdomains for an IP address",
  },
  {
    env: 'DEMO',
    key: 'demo',
    kind: 'bool',
    roles: ['all'],
    doc: 'serve the demo page and echo at / (default: on unless TOKEN_SECRET or TOKEN_PUBLIC_KEY is set)',
  },
  {
    env: 'ADMIN_PORT',
    key: 'adminPort',
    kind: 'int',
    min: 0,
    max: 65535,
    roles: ['all', 'router', 'relay'],
    doc: 'port of the admin listener: /healthz, /readyz, /metrics, /status (default PORT + 1000, 9080 beside 8080; 0 = any free port)',
  },
  {
    env: 'ADMIN_BIND',
    key: 'adminBind',
    kind: 'string',
    def: '127.0.0.1',
    roles: ['all', 'router', 'relay'],
    doc: 'address the admin listener binds (keep it private)',
  },
  {
    env: 'ADMIN_TOKEN',
    key: 'adminToken',
    kind: 'string',
    roles: ['all', 'router', 'relay'],
    doc: 'when set, the admin routes also answer on the public port to Authorization: Bearer <ADMIN_TOKEN>',
  },
  {
    env: 'REQUEST_TIMEOUT_MS',
    key: 'requestTimeoutMs',
    kind: 'int',
    def: '30000',
    min: 1000,
    max: 600000,
    roles: ['all', 'router', 'relay'],
    doc: 'longest a client may take to send a whole request (headers and body)',
  },
  {
    env: 'HEADERS_TIMEOUT_MS',
    key: 'headersTimeoutMs',
    kind: 'int',
    def: '10000',
    min: 1000,
    max: 600000,
    roles: ['all', 'router', 'relay'],
    doc: "longest a client may take to send a request's headers",
  },
  {
    env: 'MAX_CONNECTIONS_PER_IP',
    key: 'maxConnectionsPerIp',
    kind: 'int',
    def: '1000',
    min: 0,
    max: 1000000,
    roles: ['all', 'router', 'relay'],
    doc: 'open connections per client address (0 = no bound; behind a proxy, bound at the proxy)',
  },
  {
    env: 'ALLOW_PORTS',
    key: 'allowPorts',
    kind: 'list',
    def: '',
    roles: ['all', 'relay'],
    check: isPort,
    doc: "comma-separated ports the relay may reach although browsers block them (the Fetch standard's bad ports)",
  },
  {
    env: 'MAX_BATCH_SENDS',
    key: 'maxBatchSends',
    kind: 'int',
    def: '500',
    min: 1,
    max: 100000,
    roles: ['all', 'relay'],
    doc: 'most sends one batched request may carry',
  },
  {
    env: 'ANSWER_WRITE_TIMEOUT_MS',
    key: 'answerWriteTimeoutMs',
    kind: 'int',
    def: '10000',
    min: 100,
    max: 600000,
    roles: ['all', 'relay'],
    doc: 'a poll answer the client does not read within this is dropped with its connection',
  },
  {
    env: 'RELAY_ID',
    key: 'relayId',
    kind: 'string',
    roles: ['all', 'relay'],
    check: (v) => (/^[A-Za-z0-9_.-]{1,64}$/.test(v) ? undefined : 'may hold only letters, digits, _ . - (at most 64)'),
    doc: "this relay's name in the store (default: random)",
  },
  {
    env: 'PUBLIC_HOST',
    key: 'publicHost',
    kind: 'string',
    def: '',
    roles: ['all', 'relay'],
    check: (v) => (v === '' || HOST_AND_PORT.test(v) ? undefined : 'must be host or host:port'),
    doc: 'host[:port] clients reach this relay at; sockets get <uniq>.<PUBLIC_HOST> (default localhost:<PORT>)',
  },
  {
    env: 'PUBLIC_SCHEME',
    key: 'publicScheme',
    kind: 'enum',
    def: 'http',
    values: ['http', 'https'],
    roles: ['all', 'relay'],
    doc: 'scheme of the socket URLs handed to clients',
  },
  {
    env: 'SUBDOMAINS',
    key: 'subdomains',
    kind: 'bool',
    def: 'true',
    roles: ['all', 'relay'],
    doc: 'give every socket its own <uniq>. subdomain (needs wildcard DNS)',
  },
  {
    env: 'HEARTBEAT_MS',
    key: 'heartbeatMs',
    kind: 'int',
    def: '2000',
    min: 10,
    max: 60000,
    roles: ['all', 'router', 'relay'],
    doc: 'how often a relay refreshes its registration (and a router its heartbeat and status samples)',
  },
  {
    env: 'RELAY_TTL_MS',
    key: 'relayTtlMs',
    kind: 'int',
    def: '6000',
    min: 30,
    max: 300000,
    roles: ['all', 'router', 'relay'],
    doc: 'a relay whose registration is older than this is dead',
  },
  {
    env: 'POLL_MAX_TTL_MS',
    key: 'pollMaxTtlMs',
    kind: 'int',
    def: '25000',
    min: 0,
    max: 120000,
    roles: ['all', 'relay'],
    doc: 'longest a poll is held before a heartbeat answers it',
  },
  {
    env: 'IDLE_TIMEOUT_MS',
    key: 'idleTimeoutMs',
    kind: 'int',
    def: '30000',
    min: 10,
    max: 3600000,
    roles: ['all', 'relay'],
    doc: 'a socket with no poll for this long is closed (upstream gets 1001)',
  },
  {
    env: 'UPSTREAM_CONNECT_TIMEOUT_MS',
    key: 'upstreamConnectTimeoutMs',
    kind: 'int',
    def: '8000',
    min: 50,
    max: 120000,
    roles: ['all', 'relay'],
    doc: 'handshake timeout of the upstream WebSocket',
  },
  {
    env: 'UPSTREAM_STALL_MS',
    key: 'upstreamStallMs',
    kind: 'int',
    def: '10000',
    min: 100,
    max: 600000,
    roles: ['all', 'relay'],
    doc: 'a send held this long because the upstream is not reading closes the socket (1008)',
  },
  {
    env: 'UPSTREAM_CLOSE_TIMEOUT_MS',
    key: 'upstreamCloseTimeoutMs',
    kind: 'int',
    def: '2000',
    min: 10,
    max: 60000,
    roles: ['all', 'relay'],
    doc: 'how long an upstream gets to answer a close before its connection is cut',
  },
  {
    env: 'MAX_BUFFERED_BYTES',
    key: 'maxBufferedBytes',
    kind: 'int',
    def: '1048576',
    min: 1024,
    max: 1073741824,
    roles: ['all', 'relay'],
    doc: 'unacked bytes a socket may hold for its client (and queue upstream); past it the socket closes with 1009',
  },
  {
    env: 'MAX_MESSAGE_BYTES',
    key: 'maxMessageBytes',
    kind: 'int',
    def: '1048576',
    min: 16,
    max: 1073741824,
    roles: ['all', 'relay'],
    doc: 'largest message either way, in bytes',
  },
  {
    env: 'MAX_CHUNKS',
    key: 'maxChunks',
    kind: 'int',
    def: '1024',
    min: 1,
    max: 1000000,
    roles: ['all', 'relay'],
    doc: 'most chunks one continued send may have',
  },
  {
    env: 'MAX_BODY_BYTES',
    key: 'maxBodyBytes',
    kind: 'int',
    def: '4194304',
    min: 1024,
    max: 1073741824,
    roles: ['all', 'relay'],
    doc: 'largest POST body',
  },
  {
    env: 'MAX_URL_BYTES',
    key: 'maxUrlBytes',
    kind: 'int',
    def: '8192',
    min: 256,
    max: 1048576,
    roles: ['all', 'router', 'relay'],
    doc: 'longest request URL',
  },
  {
    env: 'MAX_SOCKETS',
    key: 'maxSockets',
    kind: 'int',
    def: '10000',
    min: 1,
    max: 1000000,
    roles: ['all', 'relay'],
    doc: 'sockets one relay holds at most',
  },
  {
    env: 'DRAIN_TIMEOUT_MS',
    key: 'drainTimeoutMs',
    kind: 'int',
    def: '5000',
    min: 0,
    max: 600000,
    roles: ['all', 'relay'],
    doc: 'on SIGTERM, how long clients get to fetch their close before exit',
  },
  {
    env: 'ALLOW_TARGETS',
    key: 'allowTargets',
    kind: 'list',
    def: '',
    roles: ['all', 'relay'],
    check: (v) => (parseTargetAllowance(v) ? undefined : 'is not an IP, a CIDR, or a host with an optional :port'),
    doc: 'comma-separated hosts, IPs or CIDRs the relay may reach even though private or loopback',
  },
] as const satisfies readonly Setting[];

/** The table as the code walks it; its literal type above is what Config is derived from. */
const ROWS: readonly Setting[] = SETTINGS;

type Row = (typeof SETTINGS)[number];
type ValueOf<R> = R extends { kind: 'int' }
  ? number
  : R extends { kind: 'bool' }
    ? boolean
    : R extends { kind: 'list' }
      ? readonly string[]
      : R extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;
/** a setting with a default always has a value; one without may be unset */
type FromTable = { [R in Row as R extends { def: string } ? R['key'] : never]: ValueOf<R> } & {
  [R in Row as R extends { def: string } ? never : R['key']]?: ValueOf<R>;
};

/** Every setting, typed from its row of the table, and what start derives from them. */
export type Config = FromTable & {
  /** RELAY_ID, or a random one */
  relayId: string;
  /** ADMIN_PORT, or PORT + 1000 */
  adminPort: number;
  /** PUBLIC_HOST was given (not derived from the listen port) */
  explicitPublicHost?: boolean;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    // one problem, one line; several, one line each
    super(problems.length === 1 ? problems[0] : `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function parse(s: Setting, raw: string, problems: string[]): unknown {
  const value = parseKind(s, raw, problems);
  if (value === undefined || s.kind === 'int' || s.kind === 'bool' || s.kind === 'enum') return value;
  const items = s.kind === 'list' ? (value as readonly string[]) : [value as string];
  for (const item of items) {
    const problem = s.values && s.kind === 'list' && !s.values.includes(item) ? `must be one of ${s.values.join(', ')}` : s.check?.(item);
    if (problem) problems.push(`${s.env}: ${JSON.stringify(item)} ${problem}`);
  }
  return value;
}

function parseKind(s: Setting, raw: string, problems: string[]): unknown {
  switch (s.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) {
        problems.push(`${s.env}=${JSON.stringify(raw)} is not a whole number (${s.doc})`);
        return undefined;
      }
      const n = Number(raw);
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
        problems.push(`${s.env}=${n} is out of range ${s.min}..${s.max} (${s.doc})`);
        return undefined;
      }
      return n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      problems.push(`${s.env}=${JSON.stringify(raw)} is not true or false`);
      return undefined;
    case 'enum':
      if (!s.values?.includes(raw)) {
        problems.push(`${s.env}=${JSON.stringify(raw)} must be one of ${s.values?.join(', ')}`);
        return undefined;
      }
      return raw;
    case 'list':
      return Object.freeze(
        raw
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      );
    case 'string':
      return raw;
  }
}

export type Role = 'all' | 'router' | 'relay';

/** Reads every setting from `env`; reports all problems at once. */
export function loadConfig(env: Record<string, string | undefined>, role: Role = 'all'): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const s of ROWS) {
    const raw = env[s.env] ?? s.def;
    out[s.key] = raw === undefined ? undefined : parse(s, raw, problems);
  }
  const c = out as unknown as Config;
  if (c.relayId === undefined) c.relayId = `relay-${randomBytes(4).toString('hex')}`;
  // a fixed admin port beside a fixed public one, so `polysocket status` finds the all-in-one's
  if (c.adminPort === undefined) c.adminPort = c.port > 0 && c.port + 1000 <= 65535 ? c.port + 1000 : 0;
  if (c.network && env.BIND === undefined) c.bind = '0.0.0.0';
  // a relay that speaks TLS hands out https: socket URLs unless told otherwise
  if (c.tlsCertFile && env.PUBLIC_SCHEME === undefined) c.publicScheme = 'https';
  if (role !== 'all' && !c.redisUrl) problems.push(`REDIS_URL is required for the ${role} role (the all-in-one 'start' needs none)`);
  if (c.relayTtlMs !== undefined && c.heartbeatMs !== undefined && c.relayTtlMs <= c.heartbeatMs) {
    problems.push(`RELAY_TTL_MS (${c.relayTtlMs}) must be greater than HEARTBEAT_MS (${c.heartbeatMs})`);
  }
  if (role === 'all' && c.auth === 'token' && c.demo === false && !c.tokenSecret && !c.tokenPublicKey) {
    problems.push('DEMO=false leaves nothing to verify tokens: set TOKEN_SECRET (openssl rand -hex 32) or TOKEN_PUBLIC_KEY');
  }
  if (role !== 'relay' && c.auth === 'token' && !c.tokenSecret && !c.tokenPublicKey && role !== 'all') {
    problems.push('AUTH=token needs TOKEN_SECRET or TOKEN_PUBLIC_KEY (or set AUTH=none to run an open proxy on purpose)');
  }
  if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) problems.push('TLS_CERT_FILE and TLS_KEY_FILE go together');
  if (c.tokenSecret !== undefined) {
    const weak = secretProblem(c.tokenSecret);
    if (weak) problems.push(weak);
  }
  const hmac = (c.tokenAlgorithms ?? []).filter((a) => a.startsWith('HS'));
  if (c.tokenPublicKey && hmac.length) {
    // a public key used as an HMAC secret is the classic algorithm-confusion forgery
    problems.push(`TOKEN_PUBLIC_KEY goes with RS*/PS*/ES* algorithms only; TOKEN_ALGORITHMS has ${hmac.join(', ')}`);
  } else if (c.tokenSecret && !c.tokenPublicKey && hmac.length !== (c.tokenAlgorithms ?? []).length) {
    problems.push('TOKEN_SECRET goes with HS* algorithms only: set TOKEN_ALGORITHMS=HS256 (or give TOKEN_PUBLIC_KEY)');
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(c);
}

/** Placeholders seen in examples and compose files: a secret anyone can read is no secret. */
const PLACEHOLDER = /change.?me|replace.?me|your.?secret|placeholder|example|^(secret|password|test)$/i;
export const MIN_SECRET_BYTES = 32;

/** Why an HMAC secret must not be used (undefined when it may): too short, or a known placeholder. */
export function secretProblem(secret: string): string | undefined {
  const how = 'make one with: openssl rand -hex 32';
  if (PLACEHOLDER.test(secret)) return `TOKEN_SECRET is a placeholder, not a secret; ${how}`;
  const bytes = Buffer.byteLength(secret);
  if (bytes < MIN_SECRET_BYTES) return `TOKEN_SECRET has ${bytes} bytes, fewer than ${MIN_SECRET_BYTES}; ${how}`;
  return undefined;
}

/** The config once the port is known: PORT=0 and an empty PUBLIC_HOST resolve here. */
export function withListenPort(c: Config, port: number): Config {
  return Object.freeze({ ...c, port, publicHost: c.publicHost || `localhost:${port}`, explicitPublicHost: c.publicHost !== '' });
}

/** Lines for `--help`: every setting a role reads, with its default. */
export function describeSettings(role: Role): string[] {
  return ROWS.filter((s) => s.roles.includes(role)).map(
    (s) => `  ${s.env.padEnd(28)} ${s.doc}${s.def !== undefined && s.def !== '' ? ` [${s.def}]` : ''}`,
  );
}

/** The README's settings table, one row per setting: which roles read it, its default, what it does. */
export function settingsTable(): string[] {
  const roles = (s: Setting) => (s.roles.length === 3 ? 'all three' : s.roles.map((r) => (r === 'all' ? 'start' : r)).join(', '));
  return [
    '| setting | read by | default | meaning |',
    '|---|---|---|---|',
    ...ROWS.map((s) => `| \`${s.env}\` | ${roles(s)} | ${s.def ? `\`${s.def}\`` : '—'} | ${s.doc.replace(/\|/g, '\\|')} |`),
  ];
}

/** `--port 9000` style flags, mapped onto the environment names. */
export function flagsToEnv(args: string[]): { env: Record<string, string>; rest: string[] } {
  const env: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const name = m[1].replace(/-/g, '_').toUpperCase();
    if (!ROWS.some((s) => s.env === name)) {
      rest.push(a);
      continue;
    }
    const setting = ROWS.find((s) => s.env === name);
    // a bool flag may stand alone: `--network` is `--network true`
    const bare = setting?.kind === 'bool' && m[2] === undefined && (args[i + 1] === undefined || args[i + 1].startsWith('--'));
    const value = bare ? 'true' : (m[2] ?? args[++i]);
    if (value === undefined) throw new ConfigError([`--${m[1]} needs a value`]);
    env[name] = value;
  }
  return { env, rest };
}
