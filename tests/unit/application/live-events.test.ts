import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LiveEvents,
  type ChangeNotifier,
  type DomainEvent,
  type EventSink,
  type LiveEventsOptions,
  type LoggedEvent,
  type Principal,
  type SessionRepository,
  type StreamEnd,
} from '../../../src/application/index.js';
import { InProcessChangeNotifier } from '../../../src/adapters/events/in-process-change-notifier.js';
import { InMemoryChangeLog } from '../../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryIdempotencyStore } from '../../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { useCaseHarness } from '../../support/use-cases.js';

/** A stream's far end: records what it is given, and refuses events past `capacity`. */
class RecordingSink implements EventSink {
  readonly events: LoggedEvent[] = [];
  readonly closes: StreamEnd[] = [];

  constructor(private readonly capacity = Infinity) {}

  deliver(event: LoggedEvent): boolean {
    if (this.events.length >= this.capacity) return false;
    this.events.push(event);
    return true;
  }

  close(reason: StreamEnd): void {
    this.closes.push(reason);
  }

  get taskIds(): number[] {
    return this.events.map((event) => (event.payload as { taskId: number }).taskId);
  }
}

/** A notifier whose notices never arrive (a fan-out channel that lost them all); it can report the loss. */
class LosingNotifier implements ChangeNotifier {
  private readonly missedListeners = new Set<() => void>();

  notify(): void {}

  listen(_listener: (userId: number) => void, onMissed?: () => void): () => void {
    if (onMissed) this.missedListeners.add(onMissed);
    return () => onMissed && this.missedListeners.delete(onMissed);
  }

  /** As a notifier does after its connection came back. */
  reportMissed(): void {
    for (const missed of this.missedListeners) missed();
  }

  async close(): Promise<void> {}
}

/** Long enough that no timer fires during a test that does not wait for it. */
const NEVER = 3_600_000;
const QUIET: LiveEventsOptions = { maxStreamsPerUser: 3, credentialCheckMs: NEVER, sweepMs: NEVER };

const hubs: LiveEvents[] = [];
afterEach(() => {
  for (const hub of hubs.splice(0)) hub.stop();
});

function setUp(options: Partial<LiveEventsOptions> = {}, notifier: ChangeNotifier = new InProcessChangeNotifier()) {
  const h = useCaseHarness();
  const log = new InMemoryChangeLog();
  const runner = new InMemoryTransactionRunner(new InMemoryTaskRepository(), new InMemoryIdempotencyStore(), log, notifier);
  const live = new LiveEvents(log, notifier, h.sessions, h.personalTokens, h.clock, { ...QUIET, ...options });
  hubs.push(live);
  live.start();

  /** Commits one unit of work that deletes these tasks of `actor`'s. */
  const write = (actor: Principal, ...taskIds: number[]) =>
    runner.run(async (scope) => {
      for (const taskId of taskIds) {
        const event: DomainEvent = { type: 'task.deleted', userId: actor.userId, occurredAt: h.clock.now(), payload: { taskId } };
        await scope.events.publish(event);
      }
    });

  /** Prepares and opens a stream, as the transport does. */
  const connect = async (actor: Principal, since?: string, sink = new RecordingSink()) => {
    const start = await live.prepare(actor, since);
    return { sink, start, stream: live.open(actor, start, sink) };
  };

  return { h, log, runner, live, write, connect };
}

/** Waits for every pending read of the hub (they run on promises, not timers). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LiveEvents.prepare', () => {
  it('without `since`, starts after the newest event and reports its id; none yet → 0 and null', async () => {
    const { h, log, write, live } = setUp();
    const { principal } = await h.account();
    expect(await live.prepare(principal)).toEqual({ position: 0, lastId: null });
    await write(principal, 1, 2);
    const newest = await log.latest(principal.userId);
    expect(await live.prepare(principal)).toEqual({ position: 2, lastId: newest!.id });
  });

  it('without `since` after every event was purged, starts at the head: old positions are not replayed', async () => {
    const { h, log, write, live } = setUp();
    const { principal } = await h.account();
    await write(principal, 1, 2);
    await log.purgeBefore(new Date(h.clock.now().getTime() + 1));
    expect(await live.prepare(principal)).toEqual({ position: 2, lastId: null });
  });

  it('with `since`, starts after that event and still reports the newest id', async () => {
    const { h, log, write, live } = setUp();
    const { principal } = await h.account();
    await write(principal, 1, 2, 3);
    const [first, , third] = await log.readAfter(principal.userId, 0, 10);
    expect(await live.prepare(principal, first!.id)).toEqual({ position: 1, lastId: third!.id });
  });

  it('refuses a `since` not of the id form (422), and one this user was never given or that is purged (410)', async () => {
    const { h, log, write, live } = setUp();
    const { principal } = await h.account();
    const { principal: other } = await h.account();
    await write(principal, 1);
    await write(other, 2);
    const [foreign] = await log.readAfter(other.userId, 0, 10);
    for (const malformed of ['abc', '0', '-1', '1.0', '', ' 1', '1234567890123456789']) {
      await expect(live.prepare(principal, malformed)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await expect(live.prepare(principal, foreign!.id)).rejects.toMatchObject({ code: 'HISTORY_GONE' });
    await expect(live.prepare(principal, '987654321')).rejects.toMatchObject({ code: 'HISTORY_GONE' });
    const [own] = await log.readAfter(principal.userId, 0, 10);
    await log.purgeBefore(new Date(h.clock.now().getTime() + 1));
    await expect(live.prepare(principal, own!.id)).rejects.toMatchObject({ code: 'HISTORY_GONE' });
  });

  it('refuses a stream past the per-user limit (429) in prepare and in open, and takes one again once a stream closes', async () => {
    const { h, live, connect } = setUp({ maxStreamsPerUser: 2 });
    const { principal } = await h.account();
    const { principal: other } = await h.account();
    const first = await connect(principal);
    const second = await connect(principal);
    const late = await live.prepare(principal).catch((error: unknown) => error);
    expect(late).toMatchObject({ code: 'TOO_MANY_STREAMS' });
    expect(() => live.open(principal, second.start, new RecordingSink())).toThrow(expect.objectContaining({ code: 'TOO_MANY_STREAMS' }));
    // The limit is per user.
    await connect(other);
    first.stream.close();
    await connect(principal);
    expect(live.openStreams).toBe(3);
  });
});

describe('LiveEvents streams', () => {
  it('replays every event after `since`, then goes on live, each once and in order', async () => {
    const { h, log, write, connect } = setUp();
    const { principal } = await h.account();
    await write(principal, 1, 2);
    await write(principal, 3);
    const [first] = await log.readAfter(principal.userId, 0, 10);
    const { sink } = await connect(principal, first!.id);
    await vi.waitFor(() => expect(sink.taskIds).toEqual([2, 3]));
    await write(principal, 4);
    await write(principal, 5, 6);
    await vi.waitFor(() => expect(sink.taskIds).toEqual([2, 3, 4, 5, 6]));
    expect(sink.events.map((event) => event.position)).toEqual([2, 3, 4, 5, 6]);
    expect(sink.closes).toEqual([]);
  });

  it('gives a stream that joins during a read from further back every event after its own position, not only those of the read', async () => {
    const { h, log, live, write } = setUp();
    const { principal } = await h.account();
    await write(principal, 1, 2, 3, 4, 5);
    const [, second, , fourth] = await log.readAfter(principal.userId, 0, 10);
    // The first stream's read waits until the second stream, further back, has joined.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const readAfter = log.readAfter.bind(log);
    const spy = vi.spyOn(log, 'readAfter').mockImplementationOnce(async (...args) => {
      await held;
      return readAfter(...args);
    });
    const ahead = new RecordingSink();
    live.open(principal, await live.prepare(principal, fourth!.id), ahead);
    const behind = new RecordingSink();
    live.open(principal, await live.prepare(principal, second!.id), behind);
    release();
    await vi.waitFor(() => expect(behind.taskIds).toEqual([3, 4, 5]));
    expect(ahead.taskIds).toEqual([5]);
    spy.mockRestore();
  });

  it('replays a long history in order, across read batches, and then goes on live', async () => {
    const { h, live, write } = setUp();
    const { principal } = await h.account();
    const history = Array.from({ length: 450 }, (_, i) => i + 1);
    await write(principal, ...history);
    const sink = new RecordingSink();
    live.open(principal, { position: 0, lastId: null }, sink);
    await write(principal, 451);
    await vi.waitFor(() => expect(sink.taskIds).toEqual([...history, 451]));
    expect(sink.events.map((event) => event.position)).toEqual([...history, 451]);
  });

  it('gives every stream of a user their events in order, and none of another user\'s', async () => {
    const { h, write, connect } = setUp();
    const { principal: alice } = await h.account();
    const { principal: bob } = await h.account();
    const a1 = await connect(alice);
    const a2 = await connect(alice);
    const b = await connect(bob);
    await write(alice, 1);
    await write(bob, 100);
    await write(alice, 2, 3);
    await vi.waitFor(() => {
      expect(a1.sink.taskIds).toEqual([1, 2, 3]);
      expect(a2.sink.taskIds).toEqual([1, 2, 3]);
      expect(b.sink.taskIds).toEqual([100]);
    });
    expect(a1.sink.events.every((event) => event.userId === alice.userId)).toBe(true);
    expect(b.sink.events.every((event) => event.userId === bob.userId)).toBe(true);
  });

  it('catches a stream opened behind the others up without repeating what they already have', async () => {
    const { h, log, write, connect } = setUp();
    const { principal } = await h.account();
    await write(principal, 1, 2, 3);
    const ahead = await connect(principal);
    const [first] = await log.readAfter(principal.userId, 0, 1);
    const behind = await connect(principal, first!.id);
    await write(principal, 4);
    await vi.waitFor(() => {
      expect(ahead.sink.taskIds).toEqual([4]);
      expect(behind.sink.taskIds).toEqual([2, 3, 4]);
    });
  });

  it('closes a stream whose sink refuses an event as overflow, once, forgets it, and keeps feeding the others', async () => {
    const { h, live, write, connect } = setUp();
    const { principal } = await h.account();
    const slow = await connect(principal, undefined, new RecordingSink(1));
    const fast = await connect(principal);
    await write(principal, 1);
    await write(principal, 2);
    await write(principal, 3);
    await vi.waitFor(() => expect(fast.sink.taskIds).toEqual([1, 2, 3]));
    expect(slow.sink.taskIds).toEqual([1]);
    expect(slow.sink.closes).toEqual(['overflow']);
    expect(live.openStreams).toBe(1);
    // Its client's own close afterwards changes nothing.
    slow.stream.close();
    expect(live.openStreams).toBe(1);
  });

  it('stops feeding a stream its client closed, without closing it from the server\'s side', async () => {
    const { h, live, write, connect } = setUp();
    const { principal } = await h.account();
    const gone = await connect(principal);
    const staying = await connect(principal);
    gone.stream.close();
    expect(live.openStreams).toBe(1);
    await write(principal, 1);
    await vi.waitFor(() => expect(staying.sink.taskIds).toEqual([1]));
    expect(gone.sink.events).toEqual([]);
    expect(gone.sink.closes).toEqual([]);
  });

  it('delivers within the sweep interval when every notice is lost', async () => {
    const { h, write, connect } = setUp({ sweepMs: 25 }, new LosingNotifier());
    const { principal } = await h.account();
    const { sink } = await connect(principal);
    await write(principal, 1);
    await write(principal, 2);
    await vi.waitFor(() => expect(sink.taskIds).toEqual([1, 2]), { timeout: 2_000, interval: 10 });
  });

  it('reads every open stream\'s log at once when the notifier reports that notices were missed', async () => {
    const notifier = new LosingNotifier();
    const { h, write, connect } = setUp({}, notifier);
    const { principal: alice } = await h.account();
    const { principal: bob } = await h.account();
    const a = await connect(alice);
    const b = await connect(bob);
    await write(alice, 1);
    await write(bob, 2);
    await settle();
    expect([a.sink.taskIds, b.sink.taskIds]).toEqual([[], []]);
    notifier.reportMissed();
    await vi.waitFor(() => expect([a.sink.taskIds, b.sink.taskIds]).toEqual([[1], [2]]));
  });

  it('reads again on the next notice after the log failed to answer', async () => {
    const { h, log, write, connect } = setUp();
    const { principal } = await h.account();
    const { sink } = await connect(principal);
    const readAfter = log.readAfter.bind(log);
    let failures = 1;
    log.readAfter = async (...args) => {
      if (failures-- > 0) throw new Error('database went away');
      return readAfter(...args);
    };
    await write(principal, 1);
    await settle();
    expect(sink.events).toEqual([]);
    await write(principal, 2);
    await vi.waitFor(() => expect(sink.taskIds).toEqual([1, 2]));
    expect(sink.closes).toEqual([]);
  });
});

describe('LiveEvents credentials', () => {
  it('closes the streams of a logged-out session as revoked at the next check, and only those', async () => {
    const { h, live, connect } = setUp({ credentialCheckMs: 20 });
    const { principal: leaving } = await h.account();
    const { principal: staying } = await h.account();
    const gone = await connect(leaving);
    const kept = await connect(staying);
    await h.logout.execute(leaving);
    await vi.waitFor(() => expect(gone.sink.closes).toEqual(['revoked']), { timeout: 2_000, interval: 10 });
    expect(live.openStreams).toBe(1);
    expect(kept.sink.closes).toEqual([]);
  });

  it('closes a personal access token\'s streams once the token is revoked, and a deleted user\'s streams', async () => {
    const { h, live, connect } = setUp({ credentialCheckMs: 20 });
    const { principal, user } = await h.account();
    const { secret, token } = await h.createPersonalAccessToken.execute(principal, { name: 'ci', scopes: ['tasks:read'] });
    const byToken = await connect(await h.authenticate.execute(secret));
    const bySession = await connect(principal);
    await h.revokePersonalAccessToken.execute(principal, token.id);
    await vi.waitFor(() => expect(byToken.sink.closes).toEqual(['revoked']), { timeout: 2_000, interval: 10 });
    expect(bySession.sink.closes).toEqual([]);
    await h.users.delete(user.id);
    await vi.waitFor(() => expect(bySession.sink.closes).toEqual(['revoked']), { timeout: 2_000, interval: 10 });
    expect(live.openStreams).toBe(0);
  });

  it('does not close a stream its client closed while a check was waiting for the database', async () => {
    const { h, connect, live } = setUp({ credentialCheckMs: 20 });
    const { principal } = await h.account();
    const { sink, stream } = await connect(principal);
    const checking = holdCredentialChecks(h.sessions);
    await h.logout.execute(principal);
    await checking.started;
    stream.close();
    checking.release();
    await checking.finished;
    expect(sink.closes).toEqual([]);
    expect(live.openStreams).toBe(0);
  });

  it('keeps streams open while the database cannot answer the check', async () => {
    const { h, connect } = setUp({ credentialCheckMs: 20 });
    const { principal } = await h.account();
    const { sink } = await connect(principal);
    let asked = 0;
    h.sessions.liveOf = async () => {
      asked += 1;
      throw new Error('database went away');
    };
    await vi.waitFor(() => expect(asked).toBeGreaterThanOrEqual(2), { timeout: 2_000, interval: 10 });
    expect(sink.closes).toEqual([]);
  });
});

describe('LiveEvents.stop', () => {
  it('closes every open stream as shutdown, once, and feeds none of them afterwards', async () => {
    const { h, live, write, connect } = setUp();
    const { principal: alice } = await h.account();
    const { principal: bob } = await h.account();
    const streams = [await connect(alice), await connect(alice), await connect(bob)];
    const left = await connect(bob);
    left.stream.close();
    live.stop();
    expect(streams.map(({ sink }) => sink.closes)).toEqual([['shutdown'], ['shutdown'], ['shutdown']]);
    expect(left.sink.closes).toEqual([]);
    expect(live.openStreams).toBe(0);
    await write(alice, 1);
    await settle();
    expect(streams.every(({ sink }) => sink.events.length === 0)).toBe(true);
  });

  it('leaves a credential check that was waiting for the database nothing to close', async () => {
    const { h, live, connect } = setUp({ credentialCheckMs: 20 });
    const { principal } = await h.account();
    const { sink } = await connect(principal);
    const checking = holdCredentialChecks(h.sessions);
    await h.logout.execute(principal);
    await checking.started;
    live.stop();
    checking.release();
    await checking.finished;
    expect(sink.closes).toEqual(['shutdown']);
  });

  it('stops delivering what a read under way brings back', async () => {
    const { h, log, live, write, connect } = setUp();
    const { principal } = await h.account();
    const { sink } = await connect(principal);
    const readAfter = log.readAfter.bind(log);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const started = new Promise<void>((resolve) => (reading = resolve));
    log.readAfter = async (...args) => {
      reading();
      await held;
      return readAfter(...args);
    };
    await write(principal, 1);
    await started;
    live.stop();
    release();
    await settle();
    expect(sink.events).toEqual([]);
    expect(sink.closes).toEqual(['shutdown']);
  });
});

/** Holds the next credential check inside the database call until `release()`. */
function holdCredentialChecks(sessions: SessionRepository) {
  const liveOf = sessions.liveOf.bind(sessions);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let begin!: () => void;
  const started = new Promise<void>((resolve) => (begin = resolve));
  let end!: () => void;
  const finished = new Promise<void>((resolve) => (end = resolve));
  sessions.liveOf = async (ids) => {
    begin();
    await held;
    const live = await liveOf(ids);
    // The hub acts on the answer once this resolves: let it, then report.
    setImmediate(end);
    return live;
  };
  return { started, release, finished };
}
