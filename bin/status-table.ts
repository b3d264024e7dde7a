/** `polysocket status` as text: the status page's tables, for a terminal. */
import type { StatusView } from '../router/status';

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

const num = (x: number, d = 1) => (x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(d));
const age = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const state = (x: { stale: boolean; draining?: boolean }) => (x.stale ? 'stale' : x.draining ? 'draining' : 'live');

export function statusTable(v: StatusView): string {
  const t = v.totals ?? { relays: 0, routers: 0, sockets: 0, messagesPerSecond: 0, createsPerSecond: 0, refusalsPerSecond: 0 };
  const out = [
    `relays ${t.relays}, routers ${t.routers}, sockets open ${t.sockets}, messages/s ${num(t.messagesPerSecond)}, ` +
      `creates/s ${num(t.createsPerSecond)}, refusals/s ${num(t.refusalsPerSecond)}`,
    '',
    ...table(
      [
        'relay',
        'host',
        'state',
        'sockets',
        'share',
        'opened/s',
        'closed/s',
        'msgs in/s',
        'msgs out/s',
        'bytes in/s',
        'bytes out/s',
        'heartbeat',
      ],
      v.relays.map((r) => [
        r.id,
        r.host,
        state(r),
        String(r.sockets),
        `${Math.round(r.share * 100)}%`,
        num(r.perSecond.opened),
        num(r.perSecond.closed),
        num(r.perSecond.messagesIn),
        num(r.perSecond.messagesOut),
        num(r.perSecond.bytesIn, 0),
        num(r.perSecond.bytesOut, 0),
        age(r.heartbeatAgeMs),
      ]),
    ),
    '',
    ...table(
      ['router', 'state', 'creates/s', 'refusals/s', 'pending', 'refusals by code', 'heartbeat'],
      v.routers.map((r) => [
        r.id,
        state(r),
        num(r.createsPerSecond),
        num(r.refusalsPerSecond),
        String(r.pendingCreates),
        Object.entries(r.refused)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || '-',
        age(r.heartbeatAgeMs),
      ]),
    ),
  ];
  return `${out.join('\n')}\n`;
}
