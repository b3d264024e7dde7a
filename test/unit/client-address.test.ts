/** Forwarding headers are believed only from TRUST_PROXY addresses. */
import type { IncomingMessage } from 'node:http';
import { TrustedProxies } from '../../shared/client-address';

const req = (peer: string, headers: Record<string, string> = {}, encrypted = false) =>
  ({ socket: { remoteAddress: peer, encrypted }, headers: { host: 'ws.example.com', ...headers } }) as unknown as IncomingMessage;

test('with no trusted proxy the peer is the client, whatever the headers say', () => {
  const facts = new TrustedProxies([]).facts(req('203.0.113.9', { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' }));
  expect(facts).toEqual({ ip: '203.0.113.9', forwardedFor: '203.0.113.9', proto: 'http', host: 'ws.example.com' });
});

test('behind a trusted proxy the last untrusted hop is the client, and the chain goes on with the proxy appended', () => {
  const p = new TrustedProxies(['10.0.0.0/8']);
  const facts = p.facts(
    req('10.0.0.2', { 'x-forwarded-for': '198.51.100.7, 10.0.0.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'app.example' }),
  );
  expect(facts).toEqual({ ip: '198.51.100.7', forwardedFor: '198.51.100.7, 10.0.0.9, 10.0.0.2', proto: 'https', host: 'app.example' });
});

test('an IPv4-mapped peer address is matched as IPv4', () => {
  expect(new TrustedProxies(['127.0.0.1']).trusts('::ffff:127.0.0.1')).toBe(true);
});

test('TLS on our own socket makes the scheme https', () => {
  expect(new TrustedProxies([]).facts(req('203.0.113.9', {}, true)).proto).toBe('https');
});

test('a malformed TRUST_PROXY entry is a clear error', () => {
  expect(() => new TrustedProxies(['proxy.internal'])).toThrow(/TRUST_PROXY/);
});
