import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * stopOnSignals in a real process: the signal, the exit status and the log line are what an
 * orchestrator sees.
 */
describe('stopping on SIGTERM', () => {
  /** A process whose shutdown runs `stop` (a function's source) with a deadline of `deadlineMs`; resolves once it is listening for signals. */
  async function processStoppingWith(stop: string, deadlineMs: number) {
    const script = `
      const { stopOnSignals } = await import('./src/infrastructure/process-lifecycle.ts');
      const { createLogger } = await import('./src/infrastructure/logger.ts');
      const logger = createLogger({ logLevel: 'info', nodeEnv: 'production' });
      stopOnSignals(logger, ${stop}, ${deadlineMs});
      setInterval(() => {}, 60_000);
      logger.info('ready');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const logged = () => out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string; deadlineMs?: number; signal?: string });
    await expect.poll(() => logged().some((entry) => entry.msg === 'ready'), { timeout: 15_000, interval: 50 }).toBe(true);
    return { child, exited, logged };
  }

  it('exits 0 once everything is released', async () => {
    const { child, exited, logged } = await processStoppingWith('async () => true', 10_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logged().at(-1)).toMatchObject({ msg: 'shut down cleanly' });
  });

  it('exits 1 at its deadline when something it waits for never lets go', async () => {
    const { child, exited, logged } = await processStoppingWith('() => new Promise(() => {})', 300);
    const signalled = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(logged().at(-1)).toMatchObject({ msg: 'shutdown did not finish in time: exiting', signal: 'SIGTERM', deadlineMs: 300 });
  });
});
