/** Waits for a condition the test cannot await as an event; bounded in time, checked every 5 ms. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Rate limits count in fixed windows (a minute): a test that makes a few creates and expects the
 * limit to bite must not straddle a window's edge. Returns at once, or after the next edge when
 * fewer than `marginMs` are left in the current window.
 */
export async function clearOfWindowEdge(windowMs = 60_000, marginMs = 10_000): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 50));
}
