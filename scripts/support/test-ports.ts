/** How many ports, from TEST_PORT_BASE on, the test suite may listen on. */
export const TEST_PORT_COUNT = 100;
const DEFAULT_TEST_PORT_BASE = 3100;

/**
 * The ports tests listen on: TEST_PORT_BASE (default 3100) and the 99 after it. Machines that run
 * several suites at once, or have something else on 3100–3199, give each run its own base.
 */
export function testPortRange(env: Record<string, string | undefined> = process.env): { from: number; to: number } {
  const text = env.TEST_PORT_BASE?.trim();
  if (!text) return { from: DEFAULT_TEST_PORT_BASE, to: DEFAULT_TEST_PORT_BASE + TEST_PORT_COUNT - 1 };
  const base = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(base >= 1024 && base + TEST_PORT_COUNT - 1 <= 65_535)) {
    throw new Error(`TEST_PORT_BASE must be a whole number from 1024 to ${65_535 - TEST_PORT_COUNT + 1}; got "${text}"`);
  }
  return { from: base, to: base + TEST_PORT_COUNT - 1 };
}
