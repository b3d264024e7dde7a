import { rankRelays } from '../../router/pick-relay';
import type { RelayInfo } from '../../shared/store/store';

const r = (id: string, sockets: number, extra: Partial<RelayInfo> = {}): RelayInfo => ({
  id,
  run: 'b',
  host: id,
  sockets,
  maxSockets: 100,
  draining: false,
  ...extra,
});

test('least loaded first', () => {
  expect(rankRelays([r('a', 5), r('b', 1), r('c', 3)]).map((x) => x.id)).toEqual(['b', 'c', 'a']);
});

test('draining and full relays are left out', () => {
  expect(rankRelays([r('a', 0, { draining: true }), r('b', 100), r('c', 7)]).map((x) => x.id)).toEqual(['c']);
});

test('ties are broken by the dice', () => {
  const dice = [0.9, 0.1];
  expect(rankRelays([r('a', 1), r('b', 1)], () => dice.shift()!).map((x) => x.id)).toEqual(['b', 'a']);
});

test('no relays, no candidates', () => {
  expect(rankRelays([])).toEqual([]);
});
