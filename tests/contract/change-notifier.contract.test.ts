import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NotifierLog } from '../../src/adapters/events/change-listeners.js';
import { notifierFamily, notifierKinds, type NotifierFamily, type NotifierInstance } from '../support/change-notifiers.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const kinds = await notifierKinds();

/**
 * A user id no other test uses: instances on one PostgreSQL database share one channel, so
 * other test files' notices may arrive too. Assertions look for their own users only.
 */
const aUserId = () => randomInt(1_000_000, 2 ** 31 - 1);

/** What one listener has heard. */
function recorder() {
  const heard: number[] = [];
  let missed = 0;
  return {
    heard,
    get missed() {
      return missed;
    },
    listener: (userId: number) => void heard.push(userId),
    onMissed: () => void (missed += 1),
  };
}

const DELIVERY = { timeout: 5_000, interval: 10 };

describe.each(kinds)('ChangeNotifier: %s', (kind) => {
  let family: NotifierFamily;
  const opened: NotifierInstance[] = [];
  const open = async (...args: Parameters<NotifierFamily['instance']>) => {
    const instance = await family.instance(...args);
    opened.push(instance);
    return instance;
  };

  beforeAll(async () => {
    family = await notifierFamily(kind);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((instance) => instance.close()));
  });

  it('hands a notice to its own instance\'s listeners at once, before notify returns', async () => {
    const { notifier } = await open();
    const [first, second] = [recorder(), recorder()];
    notifier.listen(first.listener);
    notifier.listen(second.listener);
    const [one, two] = [aUserId(), aUserId()];
    notifier.notify([one, two]);
    expect(first.heard).toEqual([one, two]);
    expect(second.heard).toEqual([one, two]);
  });

  it('stops handing notices to a listener once it unsubscribed', async () => {
    const { notifier } = await open();
    const [gone, witness] = [recorder(), recorder()];
    const unsubscribe = notifier.listen(gone.listener);
    notifier.listen(witness.listener);
    unsubscribe();
    const user = aUserId();
    notifier.notify([user]);
    await vi.waitFor(() => expect(witness.heard).toContain(user), DELIVERY);
    expect(gone.heard).toEqual([]);
  });

  describe.runIf(kind !== 'in-process')('across instances', () => {
    it('carries a notice from one instance to the listeners of another, for every user named', async () => {
      const [a, b] = [await open(), await open()];
      const onB = recorder();
      b.notifier.listen(onB.listener);
      const users = [aUserId(), aUserId(), aUserId()];
      a.notifier.notify(users);
      await vi.waitFor(() => expect(onB.heard).toEqual(expect.arrayContaining(users)), DELIVERY);
    });

    it('stops carrying notices to a listener of another instance once it unsubscribed', async () => {
      const [a, b] = [await open(), await open()];
      const [gone, witness] = [recorder(), recorder()];
      const unsubscribe = b.notifier.listen(gone.listener);
      b.notifier.listen(witness.listener);
      unsubscribe();
      const user = aUserId();
      a.notifier.notify([user]);
      await vi.waitFor(() => expect(witness.heard).toContain(user), DELIVERY);
      expect(gone.heard).not.toContain(user);
    });

    it('hands its own instance a notice once: the echo from the channel is skipped', async () => {
      const [a, b] = [await open(), await open()];
      const [onA, onB] = [recorder(), recorder()];
      a.notifier.listen(onA.listener);
      b.notifier.listen(onB.listener);
      const [user, later] = [aUserId(), aUserId()];
      a.notifier.notify([user]);
      a.notifier.notify([later]);
      // B hearing the later notice means the channel carried both, the echoes to A included.
      await vi.waitFor(() => expect(onB.heard).toContain(later), DELIVERY);
      await new Promise((resolve) => setImmediate(resolve));
      expect(onA.heard).toEqual([user, later]);
    });

    it('ignores what arrives on its channel that is not another instance\'s notice', async () => {
      const b = await open();
      const onB = recorder();
      b.notifier.listen(onB.listener);
      const junk = ['', 'abc', '0', '-5', '1.5', '12 13', '99999999999999999999', String(aUserId()), 'a1b2c3d4e5f6:0', 'a1b2c3d4e5f6:-5', 'not-a-tag:5'];
      for (const text of junk) await family.sendRaw(text);
      const user = aUserId();
      await family.sendRaw(`a1b2c3d4e5f6:${user}`);
      await vi.waitFor(() => expect(onB.heard).toContain(user), DELIVERY);
      expect(onB.heard.every((userId) => Number.isSafeInteger(userId) && userId > 0)).toBe(true);
    });

    it('after losing its connection, reconnects, says notices may have been missed, and carries them again', async () => {
      const proxy = await new TcpProxy(family.server!).start();
      try {
        const logged: string[] = [];
        const log: NotifierLog = { info: (message) => logged.push(`info: ${message}`), warn: (message) => logged.push(`warn: ${message}`) };
        const a = await open();
        const b = await open({ via: { host: '127.0.0.1', port: proxy.port }, log });
        const onB = recorder();
        b.notifier.listen(onB.listener, onB.onMissed);

        await proxy.refuse();
        await vi.waitFor(() => expect(b.connected()).toBe(false), DELIVERY);
        const lost = aUserId();
        a.notifier.notify([lost]);
        expect(onB.missed).toBe(0);

        await proxy.restore();
        await vi.waitFor(() => expect(b.connected()).toBe(true), { timeout: 10_000, interval: 20 });
        expect(onB.missed).toBe(1);
        const user = aUserId();
        a.notifier.notify([user]);
        await vi.waitFor(() => expect(onB.heard).toContain(user), DELIVERY);
        expect(logged.filter((line) => line.startsWith('warn: '))).toHaveLength(1);
        expect(logged.filter((line) => line.startsWith('info: '))).toHaveLength(1);
        expect(logged.join('\n')).not.toMatch(/password|@/);
      } finally {
        await proxy.close();
      }
    });

    it('finds a connection that went silent by its heartbeat, reconnects once the network answers, and says notices may have been missed', async () => {
      const proxy = await new TcpProxy(family.server!).start();
      try {
        const a = await open();
        const b = await open({ via: { host: '127.0.0.1', port: proxy.port }, quickHeartbeat: true });
        const onB = recorder();
        b.notifier.listen(onB.listener, onB.onMissed);

        // Packets vanish and nothing is reset: only a command that gets no answer tells.
        proxy.stall();
        await vi.waitFor(() => expect(b.connected()).toBe(false), DELIVERY);
        expect(onB.missed).toBe(0);

        await proxy.restore();
        await vi.waitFor(() => expect(b.connected()).toBe(true), { timeout: 10_000, interval: 20 });
        expect(onB.missed).toBe(1);
        const user = aUserId();
        a.notifier.notify([user]);
        await vi.waitFor(() => expect(onB.heard).toContain(user), DELIVERY);
      } finally {
        await proxy.close();
      }
    });

    it('drops a notice it cannot send, at once and with one warning, and still hands it to its own listeners', async () => {
      const proxy = await new TcpProxy(family.server!).start();
      try {
        const warnings: string[] = [];
        const a = await open({ via: { host: '127.0.0.1', port: proxy.port }, log: { info: () => {}, warn: (message) => warnings.push(message) } });
        const onA = recorder();
        a.notifier.listen(onA.listener);
        await proxy.refuse();
        await vi.waitFor(() => expect(a.connected()).toBe(false), DELIVERY);
        const users = [aUserId(), aUserId()];
        a.notifier.notify([users[0]!]);
        a.notifier.notify([users[1]!]);
        expect(onA.heard).toEqual(users);
        await vi.waitFor(() => expect(warnings.some((line) => /could not (publish|send) a change notice/.test(line))).toBe(true), DELIVERY);
        expect(warnings.filter((line) => /could not (publish|send) a change notice/.test(line))).toHaveLength(1);
      } finally {
        await proxy.close();
      }
    });
  });

  it('once closed, lets the process exit: no connection or timer is left behind', async () => {
    const script = `
      const { notifierFamily, until } = await import('./tests/support/change-notifiers.ts');
      const family = await notifierFamily(process.env.KIND);
      const [a, b] = [await family.instance(), await family.instance()];
      const heard = [];
      b.notifier.listen((userId) => heard.push(userId));
      a.notifier.notify([4242]);
      await until(() => heard.includes(4242), 10_000, 'the notice');
      await Promise.all([a.close(), b.close()]);
      console.log('closed');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, KIND: kind },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      expect(await exited, output).toBe(0);
      expect(output).toContain('closed');
    } finally {
      clearTimeout(deadline);
    }
  }, 20_000);
});

