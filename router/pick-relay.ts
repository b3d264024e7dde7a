/**
 * Placement: the live relays that can take a socket, least loaded first, ties in random order.
 * Pure: the caller supplies the relays (already filtered for liveness by the store) and the dice.
 */
import type { RelayInfo } from '../shared/store/store';

export function rankRelays(relays: readonly RelayInfo[], random: () => number = Math.random): RelayInfo[] {
  return relays
    .filter((r) => !r.draining && r.sockets < r.maxSockets)
    .map((r) => ({ r, tie: random() }))
    .sort((a, b) => a.r.sockets - b.r.sockets || a.tie - b.tie)
    .map((x) => x.r);
}
