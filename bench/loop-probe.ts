/**
 * Preloaded into a server process by the bench (`node --require`): the longest event-loop turn
 * since the last SIGUSR2, printed as a JSON line on SIGUSR2. prom-client's lag metric is of no
 * use for one request: it samples every 10 ms and, after each scrape resets it, records nothing
 * until its second sample, so a block right after the reset goes unseen. A 1 ms interval whose
 * own lateness is the block, never reset between ticks, sees every turn longer than ~1 ms.
 */
let last = performance.now();
let worst = 0;
setInterval(() => {
  const now = performance.now();
  worst = Math.max(worst, now - last - 1);
  last = now;
}, 1).unref();
process.on('SIGUSR2', () => {
  process.stdout.write(`${JSON.stringify({ event: 'loop_probe', worstMs: worst })}\n`);
  worst = 0;
});
