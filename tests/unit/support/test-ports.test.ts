import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/support/server-process.js';
import { testPortRange } from '../../../scripts/support/test-ports.js';
import { listenInRange } from '../../support/tcp-proxy.js';

describe('the ports tests listen on', () => {
  const saved = process.env.TEST_PORT_BASE;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_PORT_BASE;
    else process.env.TEST_PORT_BASE = saved;
  });

  it('are 3100–3199 by default, and the hundred from TEST_PORT_BASE when set', () => {
    expect(testPortRange({})).toEqual({ from: 3100, to: 3199 });
    expect(testPortRange({ TEST_PORT_BASE: ' 4200 ' })).toEqual({ from: 4200, to: 4299 });
  });

  it('are half of those inside a test worker, the other half for the next worker', () => {
    expect(testPortRange({ VITEST_POOL_ID: '1' })).toEqual({ from: 3100, to: 3149 });
    expect(testPortRange({ VITEST_POOL_ID: '2' })).toEqual({ from: 3150, to: 3199 });
    expect(testPortRange({ VITEST_POOL_ID: '2', TEST_PORT_BASE: '4200' })).toEqual({ from: 4250, to: 4299 });
    expect(testPortRange({ VITEST_POOL_ID: '3' })).toEqual({ from: 3100, to: 3149 });
  });

  it.each(['80', 'abc', '3100.5', '65500'])('refuse TEST_PORT_BASE=%s with a message naming it', (value) => {
    expect(() => testPortRange({ TEST_PORT_BASE: value })).toThrow(/^TEST_PORT_BASE must be a whole number from 1024 to 65436/);
  });

  it('are where both helpers, freePort and listenInRange, pick from', async () => {
    process.env.TEST_PORT_BASE = '4300';
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(4300);
    expect(port).toBeLessThanOrEqual(4399);
    const server = net.createServer();
    try {
      const bound = await listenInRange(server);
      expect(bound).toBeGreaterThanOrEqual(4300);
      expect(bound).toBeLessThanOrEqual(4399);
    } finally {
      server.close();
    }
  });
});
