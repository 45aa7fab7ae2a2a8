import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PurgedEvents } from '../../../src/application/index.js';
import { EVENT_PURGE_INTERVAL_MS, startEventPurgeTimer } from '../../../src/infrastructure/event-purge-timer.js';

const NOTHING: PurgedEvents = { events: 0, tickets: 0 };

function aLogger() {
  const info = vi.fn();
  const error = vi.fn();
  return { logger: { info, error } as unknown as Logger, info, error };
}

describe('the event purge timer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('purges at start and then every hour, and logs only what it purged', async () => {
    const purge = vi.fn<() => Promise<PurgedEvents>>().mockResolvedValueOnce({ events: 3, tickets: 1 }).mockResolvedValue(NOTHING);
    const { logger, info } = aLogger();
    const timer = startEventPurgeTimer(purge, logger);
    await vi.advanceTimersByTimeAsync(0);
    expect(purge).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(EVENT_PURGE_INTERVAL_MS - 1);
    expect(purge).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(purge).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(EVENT_PURGE_INTERVAL_MS);
    expect(purge).toHaveBeenCalledTimes(3);
    expect(info).toHaveBeenCalledTimes(1);
    expect(info).toHaveBeenCalledWith({ events: 3, tickets: 1 }, expect.any(String));
    await timer.stop();
  });

  it('logs a failed run and tries again at the next interval', async () => {
    const purge = vi.fn<() => Promise<PurgedEvents>>().mockRejectedValueOnce(new Error('database away')).mockResolvedValue(NOTHING);
    const { logger, error } = aLogger();
    const timer = startEventPurgeTimer(purge, logger, 1_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(error).toHaveBeenCalledWith({ err: expect.objectContaining({ message: 'database away' }) }, expect.any(String));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(purge).toHaveBeenCalledTimes(2);
    await timer.stop();
  });

  it('logs a purge that throws at once instead of throwing out of the timer', async () => {
    const { logger, error } = aLogger();
    const purge = vi.fn<() => Promise<PurgedEvents>>(() => {
      throw new Error('not wired');
    });
    const timer = startEventPurgeTimer(purge, logger, 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(purge).toHaveBeenCalledTimes(2);
    expect(error).toHaveBeenCalledTimes(2);
    await timer.stop();
  });

  it('never runs two purges at once, and stop waits for the one running, then runs no more', async () => {
    let finish!: () => void;
    const purge = vi.fn(() => new Promise<PurgedEvents>((resolve) => (finish = () => resolve(NOTHING))));
    const timer = startEventPurgeTimer(purge, aLogger().logger, 1_000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(purge).toHaveBeenCalledTimes(1);

    let stopped = false;
    const stopping = timer.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(purge).toHaveBeenCalledTimes(1);
  });

  it('does not keep the process alive', async () => {
    vi.useRealTimers();
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const timer = startEventPurgeTimer(async () => NOTHING, aLogger().logger);
    const handle = setInterval.mock.results[0]!.value as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    setInterval.mockRestore();
    await timer.stop();
  });
});
