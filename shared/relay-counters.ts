/**
 * The six counters a relay keeps from its start, named once: bumped as plain numbers on the hot
 * path (never a Redis call), read by /metrics, published with each heartbeat for the status page,
 * which turns two heartbeats into rates.
 */
export const RELAY_COUNTERS = [
  'socketsOpened',
  'socketsClosed',
  'messagesToClient',
  'bytesToClient',
  'messagesToUpstream',
  'bytesToUpstream',
] as const;

export type RelayCounterName = (typeof RELAY_COUNTERS)[number];
export type RelayCounters = Record<RelayCounterName, number>;

export function zeroCounters(): RelayCounters {
  return readCounters(undefined);
}

/** A copy of the six, from anything that holds them (a relay's TrafficStats); zeros from nothing. */
export function readCounters(from: RelayCounters | undefined): RelayCounters {
  const out = {} as RelayCounters;
  for (const name of RELAY_COUNTERS) out[name] = from?.[name] ?? 0;
  return out;
}
