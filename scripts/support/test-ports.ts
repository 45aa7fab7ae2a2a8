/** How many ports, from TEST_PORT_BASE on, the test suite may listen on. */
export const TEST_PORT_COUNT = 100;
const DEFAULT_TEST_PORT_BASE = 3100;

/** How many slices the range is cut into for the workers of one test run (see testPortRange). */
const WORKER_SLICES = 2;

/**
 * The ports tests listen on: TEST_PORT_BASE (default 3100) and the 99 after it. Machines that run
 * several suites at once, or have something else on 3100–3199, give each run its own base.
 *
 * Inside a vitest worker (VITEST_POOL_ID 1, 2, …), half of them, the other half for the next
 * worker: a port found free is not reserved, and two workers picking from one range could both
 * take it, or one could take the port another test has just checked is closed. Two workers (a
 * 2-core machine) never share a port; more share each half, as all of them shared the range.
 */
export function testPortRange(env: Record<string, string | undefined> = process.env): { from: number; to: number } {
  const text = env.TEST_PORT_BASE?.trim();
  const base = text ? (/^\d+$/.test(text) ? Number(text) : NaN) : DEFAULT_TEST_PORT_BASE;
  if (!(base >= 1024 && base + TEST_PORT_COUNT - 1 <= 65_535)) {
    throw new Error(`TEST_PORT_BASE must be a whole number from 1024 to ${65_535 - TEST_PORT_COUNT + 1}; got "${text}"`);
  }
  const worker = Number(env.VITEST_POOL_ID);
  if (!Number.isInteger(worker) || worker < 1) return { from: base, to: base + TEST_PORT_COUNT - 1 };
  const size = TEST_PORT_COUNT / WORKER_SLICES;
  const from = base + ((worker - 1) % WORKER_SLICES) * size;
  return { from, to: from + size - 1 };
}
