/**
 * The address classifier, as a pure function: no connection is made for any address here.
 */
import { TargetPolicy } from '../../relay/target-policy';

const policy = new TargetPolicy({ allow: [] });

test.each([
  '127.0.0.1',
  '127.255.255.254',
  '10.1.2.3',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.1.1',
  '169.254.169.254',
  '100.64.0.1',
  '100.100.100.200',
  '0.0.0.0',
  '224.0.0.1',
  '239.255.255.250',
  '255.255.255.255',
  '240.0.0.1',
  '192.0.2.1',
  '198.18.0.1',
  '::',
  '::1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:10.0.0.1',
  '::ffff:169.254.169.254',
  '::127.0.0.1',
  'fc00::1',
  'fd00:ec2::254',
  'fe80::1',
  'ff02::1',
  '64:ff9b::7f00:1',
  '2002:7f00:1::1',
  '2001:db8::1',
])('%s is internal', (ip) => {
  expect(policy.addressAllowed(ip)).toBe(false);
});

test.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:93.184.216.34'])(
  '%s is public',
  (ip) => {
    expect(policy.addressAllowed(ip)).toBe(true);
  },
);

test('not an IP is not allowed', () => {
  expect(policy.addressAllowed('localhost')).toBe(false);
});

test('the allow-list takes IPs, CIDRs and names, and re-opens just those', () => {
  const p = new TargetPolicy({ allow: ['10.0.0.0/8', '::1', 'echo.internal'] });
  expect(p.addressAllowed('10.9.9.9')).toBe(true);
  expect(p.addressAllowed('::1')).toBe(true);
  expect(p.addressAllowed('192.168.0.1')).toBe(false);
  expect(p.socketOptions(new URL('ws://echo.internal/'))).toEqual({});
  expect(() => p.socketOptions(new URL('ws://192.168.0.1/'))).toThrow(expect.objectContaining({ code: 'target_forbidden_address' }));
  expect(p.socketOptions(new URL('ws://other.example/')).lookup).toEqual(expect.any(Function));
});

test('a malformed allow-list entry is a clear error', () => {
  expect(() => new TargetPolicy({ allow: ['10.0.0.0/99'] })).toThrow(/ALLOW_TARGETS/);
  expect(() => new TargetPolicy({ allow: ['not a host'] })).toThrow(/ALLOW_TARGETS/);
});
