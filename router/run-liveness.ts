/**
 * GET /alive: is the relay run that holds a page's socket still alive? A page whose polls fail asks
 * here, so it learns of a killed relay once that relay's registration lapses (RELAY_TTL_MS) rather
 * than after its own give-up. The question may wait: the answer comes as soon as the run is found
 * dead, or says alive after the wait. In a reconnect storm thousands of pages wait on the same run
 * at once; one check per run every CHECK_MS serves them all, so the store sees two lookups a second
 * per dying run, not one per page.
 */
import type { CoordinationStore } from '../shared/store/store';

/** How often a watched run is looked up (at most this much late in learning of a death). */
const CHECK_MS = 500;
/** Runs watched or remembered at most: a flood of made-up runs cannot grow the router. */
const MAX_RUNS = 10_000;

interface Watch {
  /** the last lookup, shared by every question within CHECK_MS of it */
  at: number;
  alive: Promise<boolean>;
  waiters: Set<(alive: boolean) => void>;
  timer?: NodeJS.Timeout;
}

export class RunLiveness {
  private readonly runs = new Map<string, Watch>();

  constructor(
    private readonly store: Pick<CoordinationStore, 'runAlive'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `run` is alive; when it is, waits up to `waitMs` for it to die. Rejects when the store cannot say. */
  async alive(run: string, waitMs = 0): Promise<boolean> {
    const alive = await this.lookup(run);
    const watch = this.runs.get(run);
    if (!alive || waitMs <= 0 || !watch) return alive;
    return new Promise<boolean>((resolve) => {
      const answer = (a: boolean) => {
        clearTimeout(timer);
        watch.waiters.delete(answer);
        resolve(a);
      };
      // Timers of a question never hold the process open: a stopping router cuts its connections.
      const timer = setTimeout(() => answer(true), waitMs).unref();
      watch.waiters.add(answer);
      watch.timer ??= this.later(run, watch);
    });
  }

  /** The shared lookup of `run`, fresh within CHECK_MS. */
  private lookup(run: string): Promise<boolean> {
    const now = this.now();
    let watch = this.runs.get(run);
    if (watch && now - watch.at < CHECK_MS) return watch.alive;
    if (!watch) {
      if (this.runs.size >= MAX_RUNS) this.forgetIdle();
      if (this.runs.size >= MAX_RUNS) return this.store.runAlive(run);
      watch = { at: 0, alive: Promise.resolve(true), waiters: new Set() };
      this.runs.set(run, watch);
    }
    const w = watch;
    w.at = now;
    w.alive = this.store.runAlive(run);
    // A store failure is the caller's to answer, not an answer to keep.
    w.alive.catch(() => {
      w.at = 0;
    });
    return w.alive;
  }

  /** Looks a watched run up again while questions wait on it; a dead run answers them all. */
  private recheck(run: string, watch: Watch): void {
    watch.timer = undefined;
    this.lookup(run).then(
      (alive) => {
        if (!alive) for (const answer of [...watch.waiters]) answer(false);
        if (watch.waiters.size > 0) watch.timer = this.later(run, watch);
      },
      () => {
        // the store is away: waiters get `alive` at their deadline; look again meanwhile
        if (watch.waiters.size > 0) watch.timer = this.later(run, watch);
      },
    );
  }

  private later(run: string, watch: Watch): NodeJS.Timeout {
    return setTimeout(() => this.recheck(run, watch), CHECK_MS).unref();
  }

  /** Drops every run nobody waits on (their answers are cheap to look up again). */
  private forgetIdle(): void {
    for (const [run, w] of this.runs) if (w.waiters.size === 0) this.runs.delete(run);
  }
}
