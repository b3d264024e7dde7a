import { parseAddressRange, parseTargetAllowance } from '../../shared/addresses';

test('an address or a CIDR parses to its family and prefix', () => {
  expect(parseAddressRange('10.1.2.3')).toEqual({ address: '10.1.2.3', family: 'ipv4' });
  expect(parseAddressRange('10.0.0.0/8')).toEqual({ address: '10.0.0.0', bits: 8, family: 'ipv4' });
  expect(parseAddressRange('fd00::/128')).toEqual({ address: 'fd00::', bits: 128, family: 'ipv6' });
});

test('a prefix past the family width, or not a number, is no range', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0.0/99', '::/129', '::/999', '10.0.0.0/', '10.0.0.0/x', '10.0.0.0/8/8', 'host/8', ''])
    expect(parseAddressRange(bad)).toBeUndefined();
});

test('an ALLOW_TARGETS entry is a range, a name or one endpoint', () => {
  expect(parseTargetAllowance('10.0.0.0/8')).toEqual({ kind: 'range', range: { address: '10.0.0.0', bits: 8, family: 'ipv4' } });
  expect(parseTargetAllowance('Echo.Internal')).toEqual({ kind: 'name', name: 'echo.internal' });
  expect(parseTargetAllowance('[::1]:9000')).toEqual({ kind: 'endpoint', host: '::1', port: '9000' });
  expect(parseTargetAllowance('echo.internal:80')).toEqual({ kind: 'endpoint', host: 'echo.internal', port: '80' });
  expect(parseTargetAllowance('::/999')).toBeUndefined();
  expect(parseTargetAllowance('not a host')).toBeUndefined();
});
