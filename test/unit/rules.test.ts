import { parseOriginRule, originAllowed } from '../../router/origin-rules';
import { parseTargetRule, targetAllowed } from '../../router/target-rules';

describe('target rules', () => {
  const allowed = (pattern: string, target: string) => targetAllowed([parseTargetRule(pattern)], new URL(target));

  test.each([
    ['wss://mqtt.example.com/ws', 'wss://mqtt.example.com/ws', true],
    ['wss://mqtt.example.com/ws', 'wss://mqtt.example.com/ws/deeper?x=1', true],
    ['wss://mqtt.example.com/ws', 'wss://mqtt.example.com/wsx', false],
    ['wss://mqtt.example.com/ws', 'ws://mqtt.example.com/ws', false],
    ['wss://mqtt.example.com', 'wss://mqtt.example.com:443/any', true],
    ['wss://mqtt.example.com', 'wss://mqtt.example.com:8443/any', false],
    ['wss://mqtt.example.com:*', 'wss://mqtt.example.com:8443/any', true],
    ['wss://*.example.com', 'wss://a.b.example.com/', true],
    ['wss://*.example.com', 'wss://example.com/', false],
    ['wss://*.example.com', 'wss://evilexample.com/', false],
    ['wss://example.com', 'wss://example.com.evil.net/', false],
    ['ws://[::1]:8080', 'ws://[::1]:8080/', true],
  ])('%s allows %s: %s', (pattern, target, expected) => {
    expect(allowed(pattern, target)).toBe(expected);
  });

  test.each(['ws://.*', 'http://example.com', 'wss://exa mple.com', 'wss://example.com:99999999', 'example.com'])(
    '%s is not a pattern',
    (p) => {
      expect(() => parseTargetRule(p)).toThrow();
    },
  );
});

describe('origin rules', () => {
  test.each([
    ['https://app.example', 'https://app.example', true],
    ['https://app.example', 'https://app.example:443', true],
    ['https://app.example', 'http://app.example', false],
    ['https://*.example', 'https://a.example', true],
    ['https://*.example', 'https://example', false],
    ['*', 'http://anything.example:81', true],
  ])('%s allows %s: %s', (pattern, origin, expected) => {
    expect(originAllowed([parseOriginRule(pattern)], new URL(origin).origin)).toBe(expected);
  });
});
