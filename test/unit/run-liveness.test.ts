/**
 * router/run-liveness.ts: many pages waiting on one run share its lookups (a fake store stands in
 * for the store here; test/protocol/alive.test.ts proves the route over real Redis and a killed relay).
 */
import { RunLiveness } from '../../router/run-liveness';

function countingStore(alive: Record<string, boolean>) {
  const store = {
    lookups: 0,
    runAlive: async (run: string) => {
      store.lookups++;
      return alive[run] ?? false;
    },
  };
  return store;
}

test('a thousand questions waiting on one run cost one lookup, and all learn of its death from one more', async () => {
  const runs = { r1: true };
  const store = countingStore(runs);
  const liveness = new RunLiveness(store);
  const answers = Array.from({ length: 1000 }, () => liveness.alive('r1', 10_000));
  await new Promise((r) => setImmediate(r));
  expect(store.lookups).toBe(1);
  runs.r1 = false;
  expect(new Set(await Promise.all(answers))).toEqual(new Set([false]));
  expect(store.lookups).toBe(2);
});

test('a question without a wait is answered at once, and within 0.5 s a second one shares the lookup', async () => {
  const store = countingStore({ r1: true });
  const liveness = new RunLiveness(store);
  expect(await liveness.alive('r1')).toBe(true);
  expect(await liveness.alive('r1')).toBe(true);
  expect(store.lookups).toBe(1);
});

test('a store failure is answered as a failure and not kept', async () => {
  let fail = true;
  const store = {
    runAlive: async () => {
      if (fail) throw new Error('store away');
      return true;
    },
  };
  const liveness = new RunLiveness(store);
  await expect(liveness.alive('r1')).rejects.toThrow('store away');
  fail = false;
  expect(await liveness.alive('r1')).toBe(true);
});
