/**
 * The kernel's TCP counters for this network namespace (/proc/net/netstat): the evidence for a
 * lateness of just over 1 s. A SYN the listener drops (its accept queue full: ListenOverflows,
 * ListenDrops) is retransmitted after the 1 s initial RTO (TCPSynRetrans), so a request that needs
 * a new connection then is a second late. Everything on the machine counts here, the bench's own
 * processes included; on a quiet machine that is nearly all of it.
 */
import { readFileSync } from 'node:fs';

export interface TcpCounters {
  listenOverflows: number;
  listenDrops: number;
  synRetrans: number;
}

export function tcpCounters(): TcpCounters {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[i].split(/\s+/);
  const values = lines[i + 1].split(/\s+/).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? Number.NaN;
  return { listenOverflows: get('ListenOverflows'), listenDrops: get('ListenDrops'), synRetrans: get('TCPSynRetrans') };
}

export function tcpDelta(before: TcpCounters, after: TcpCounters = tcpCounters()): TcpCounters {
  return {
    listenOverflows: after.listenOverflows - before.listenOverflows,
    listenDrops: after.listenDrops - before.listenDrops,
    synRetrans: after.synRetrans - before.synRetrans,
  };
}
