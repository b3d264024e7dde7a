/**
 * Starts polysocket roles in-process on ephemeral ports: the all-in-one, or a split cluster
 * (routers and relays over the real Redis, each test file with its own key prefix).
 */
import { randomBytes } from 'node:crypto';
import { startAllInOne, startRelay, startRouter, type Running } from '../../bin/servers';
import { type RoleProcess, spawnRole } from '../harness/processes';
import { loadConfig, type Role } from '../../shared/config';
import { createLogger } from '../../shared/log';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const quiet = createLogger('silent');

export function testConfig(env: Record<string, string> = {}, role: Role = 'all') {
  return loadConfig({ PORT: '0', LOG_LEVEL: 'silent', AUTH: 'none', ALLOW_TARGETS: '127.0.0.1', ...env }, role);
}

export function uniquePrefix(name: string): string {
  return `pstest:${name}:${randomBytes(4).toString('hex')}:`;
}

/** `base`: the public port; `admin`: the admin listener (/healthz, /readyz, /metrics). */
export async function allInOne(env: Record<string, string> = {}, log = quiet): Promise<Running & { base: string; admin: string }> {
  const r = await startAllInOne(testConfig(env), log);
  return Object.assign(r, { base: `http://localhost:${r.port}`, admin: `http://127.0.0.1:${r.adminPort}` });
}

export interface Split {
  routers: (Running & { base: string; admin: string })[];
  relays: Running[];
  prefix: string;
  close(): Promise<void>;
}

export async function split(o: { routers?: number; relays?: number; env?: Record<string, string>; prefix?: string } = {}): Promise<Split> {
  const prefix = o.prefix ?? uniquePrefix('split');
  const env = { REDIS_URL, STORE_PREFIX: prefix, HEARTBEAT_MS: '100', RELAY_TTL_MS: '400', ...o.env };
  const relays: Running[] = [];
  const routers: (Running & { base: string; admin: string })[] = [];
  for (let i = 0; i < (o.relays ?? 2); i++)
    relays.push(await startRelay(testConfig({ ...env, RELAY_ID: `relay${i + 1}` }, 'relay'), quiet));
  for (let i = 0; i < (o.routers ?? 1); i++) {
    const r = await startRouter(testConfig(env, 'router'), quiet);
    routers.push(Object.assign(r, { base: `http://localhost:${r.port}`, admin: `http://127.0.0.1:${r.adminPort}` }));
  }
  return {
    routers,
    relays,
    prefix,
    close: async () => {
      await Promise.all([...routers, ...relays].map((r) => r.close()));
    },
  };
}

/** A relay as a process of its own on the real Redis under `prefix` (a test kills it), heartbeating as split() relays do. */
export function relayProcess(prefix: string, relayId: string): Promise<RoleProcess> {
  return spawnRole('relay', {
    REDIS_URL,
    STORE_PREFIX: prefix,
    RELAY_ID: relayId,
    HEARTBEAT_MS: '100',
    RELAY_TTL_MS: '400',
    AUTH: 'none',
    ALLOW_TARGETS: '127.0.0.1',
  });
}
