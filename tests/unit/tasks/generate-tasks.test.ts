import { beforeEach, describe, expect, it } from 'vitest';
import { CreateTask, GenerateTasks, toSort, type GenerationOptions, type GenerationResult, type NewTask } from '../../../src/application/index.js';
import { LimitReachedError, type DomainErrorCode, type GenerationInput, type Task } from '../../../src/domain/index.js';
import { InMemoryChangeLog } from '../../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryEventPublisher } from '../../../src/adapters/persistence/memory/in-memory-event-publisher.js';
import { InMemoryIdempotencyStore } from '../../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { InMemoryWindowCounter } from '../../../src/adapters/shared/in-memory-window-counter.js';
import { FixedClock } from '../../support/fakes.js';
import { aReminderScheduler } from '../../support/reminders.js';
import { RecordingGenerationMonitor, ScriptedTaskGenerator, failure, hang, proposals, rawAnswer } from '../../support/scripted-task-generator.js';
import { LoggedEvents, aPrincipal } from '../../support/task-builders.js';

/** A task store that can be told to fail its n-th create from now, as a database that goes away mid-transaction. */
class FailingTaskRepository extends InMemoryTaskRepository {
  private createsUntilFailure = 0;

  failCreateNumber(n: number): void {
    this.createsUntilFailure = n;
  }

  override async create(task: NewTask): Promise<Task> {
    if (this.createsUntilFailure > 0 && --this.createsUntilFailure === 0) throw new Error('database went away');
    return super.create(task);
  }
}

/** The value or the error a request ends with, without leaving a rejection unhandled meanwhile. */
const settled = (promise: Promise<unknown>): Promise<unknown> => promise.catch((error: unknown) => error);

async function failsWith(promise: Promise<unknown>, code: DomainErrorCode, field?: string): Promise<void> {
  const error = await settled(promise);
  expect(error).toMatchObject({ code });
  if (field) expect(error).toMatchObject({ fieldErrors: expect.arrayContaining([expect.objectContaining({ field })]) });
}

const saved = (result: GenerationResult): { tasks: Task[]; replayed: boolean } => {
  if (!result.saved) throw new Error('expected saved tasks, got drafts');
  return result;
};

const GOAL = 'Plan a birthday party for Saturday';

describe('GenerateTasks', () => {
  const ada = aPrincipal(1);
  const bob = aPrincipal(2);
  let tasks: FailingTaskRepository;
  let idempotency: InMemoryIdempotencyStore;
  let changes: InMemoryChangeLog;
  let events: LoggedEvents;
  let clock: FixedClock;
  let quota: InMemoryWindowCounter;
  let generator: ScriptedTaskGenerator;
  let monitor: RecordingGenerationMonitor;
  let transactions: InMemoryTransactionRunner;
  let createTask: CreateTask;

  /** The use case on the shared stores, with its own model (null: not configured) and quota. */
  const generation = (requestsPerHour = 20, model: ScriptedTaskGenerator | null = generator, modelTimeoutMs = 30_000) =>
    new GenerateTasks(model, quota, idempotency, transactions, clock, monitor, { requestsPerHour, modelTimeoutMs });

  const run = (input: GenerationInput, options: Partial<GenerationOptions> = {}, actor = ada, useCase = generation()) =>
    useCase.execute(actor, input, { signal: new AbortController().signal, ...options });

  /** A user's stored tasks, oldest first (ties in creation time by id). */
  const storedOf = (userId: number): Promise<Task[]> => tasks.findPage(userId, { sort: toSort('created_at'), filter: {}, limit: 100 });

  beforeEach(() => {
    tasks = new FailingTaskRepository();
    idempotency = new InMemoryIdempotencyStore();
    changes = new InMemoryChangeLog();
    events = new LoggedEvents(changes);
    clock = new FixedClock();
    quota = new InMemoryWindowCounter({ now: () => clock.now().getTime() });
    generator = new ScriptedTaskGenerator();
    monitor = new RecordingGenerationMonitor();
    transactions = new InMemoryTransactionRunner(tasks, idempotency, changes);
    createTask = new CreateTask(tasks, idempotency, transactions, new InMemoryEventPublisher(changes), clock, aReminderScheduler());
  });

  describe('saving', () => {
    it("creates the caller's tasks, whatever owner, status, version or reminder the model wrote, each with its task.created event", async () => {
      generator.answerWith(
        proposals([
          { title: 'Send the invitations', priority: 'high', due_date: '2026-11-25T18:00:00Z', tags: ['party'], user_id: 2, id: 555, status: 'done', version: 9 },
          { title: 'Order the cake', remind_at: '2026-11-27T09:00:00Z', completed: true, owner: 'bob', created_at: '2001-01-01T00:00:00Z' },
        ]),
      );
      const { tasks: created, replayed } = saved(await run({ prompt: GOAL }));

      expect(replayed).toBe(false);
      expect(created).toEqual([
        expect.objectContaining({ userId: 1, title: 'Send the invitations', priority: 'high', dueDate: new Date('2026-11-25T18:00:00Z'), tags: ['party'] }),
        expect.objectContaining({ userId: 1, title: 'Order the cake', priority: 'medium', dueDate: null, tags: [] }),
      ]);
      for (const task of created) {
        expect(task).toMatchObject({ status: 'todo', completedAt: null, version: 1, remindAt: null, createdAt: clock.now(), updatedAt: clock.now() });
      }
      expect(created[0]!.id).not.toBe(555);
      expect(await storedOf(1)).toEqual(created);
      expect(await storedOf(2)).toEqual([]);
      expect(await events.all()).toEqual(created.map((task) => ({ type: 'task.created', userId: 1, occurredAt: clock.now(), payload: { task } })));
    });

    it('with save false returns the drafts and stores and announces nothing', async () => {
      generator.answerWith(proposals([{ title: '  Book a room ', tags: ['x', 'x'], user_id: 2 }, { title: '' }, { title: 'Buy food', priority: 'low' }]));
      const result = await run({ prompt: GOAL, save: false });

      expect(result).toEqual({
        saved: false,
        drafts: [
          { title: 'Book a room', description: '', priority: 'medium', dueDate: null, tags: ['x'] },
          { title: 'Buy food', description: '', priority: 'low', dueDate: null, tags: [] },
        ],
      });
      expect(await storedOf(1)).toEqual([]);
      expect(await storedOf(2)).toEqual([]);
      expect(await events.all()).toEqual([]);
    });

    it('stores at most max_tasks, the first ones, however many valid items the model sends', async () => {
      generator.answerWith(proposals(Array.from({ length: 50 }, (_, i) => ({ title: `Step ${i + 1}` }))));
      const { tasks: created } = saved(await run({ prompt: GOAL, maxTasks: 3 }));

      expect(created.map((t) => t.title)).toEqual(['Step 1', 'Step 2', 'Step 3']);
      expect(await tasks.count(1, {})).toBe(3);
      expect(await events.all()).toHaveLength(3);
      expect(monitor.last).toMatchObject({ outcome: 'succeeded', drafts: 3 });
    });

    it('asks the model with the trimmed prompt, max_tasks and the time, and records the outcome without any text', async () => {
      generator.answerWith(proposals([{ title: 'A' }], { prompt: 120, completion: 40 }));
      await run({ prompt: `  ${GOAL}\n`, maxTasks: 4 });

      expect(generator.requests).toEqual([{ prompt: GOAL, maxTasks: 4, now: clock.now(), signalAborted: false }]);
      expect(monitor.records).toEqual([{ userId: 1, outcome: 'succeeded', durationMs: 0, usage: { prompt: 120, completion: 40 }, drafts: 1 }]);
    });
  });

  describe('before the model is asked', () => {
    it('answers AI_NOT_CONFIGURED without a model, and counts nothing against the quota', async () => {
      const unconfigured = generation(1, null);
      await failsWith(run({ prompt: GOAL }, {}, ada, unconfigured), 'AI_NOT_CONFIGURED');
      await failsWith(run({ prompt: GOAL }, {}, ada, unconfigured), 'AI_NOT_CONFIGURED');

      generator.answerWith(proposals([{ title: 'A' }]));
      expect(saved(await run({ prompt: GOAL }, {}, ada, generation(1))).tasks).toHaveLength(1);
      expect(monitor.records.map((r) => r.outcome)).toEqual(['succeeded']);
    });

    it('refuses an invalid request with VALIDATION_FAILED before charging the quota or asking the model', async () => {
      const useCase = generation(1);
      await failsWith(run({ prompt: '   ' }, {}, ada, useCase), 'VALIDATION_FAILED', 'prompt');
      await failsWith(run({ prompt: GOAL, maxTasks: 21 }, {}, ada, useCase), 'VALIDATION_FAILED', 'max_tasks');
      await failsWith(run({ prompt: 'x'.repeat(2001) }, {}, ada, useCase), 'VALIDATION_FAILED', 'prompt');
      expect(generator.requests).toEqual([]);
      expect(monitor.records).toEqual([]);

      generator.answerWith(proposals([{ title: 'A' }]));
      expect(saved(await run({ prompt: GOAL }, {}, ada, useCase)).tasks).toHaveLength(1);
    });
  });

  describe('the hourly quota', () => {
    it('refuses the request past the limit with a Retry-After within the hour, without asking the model', async () => {
      const useCase = generation(2);
      generator.answerWith(proposals([{ title: 'A' }]), proposals([{ title: 'B' }]), proposals([{ title: 'C' }]));
      await run({ prompt: GOAL }, {}, ada, useCase);
      clock.advanceSeconds(600);
      await run({ prompt: GOAL }, {}, ada, useCase);

      const refused = await settled(run({ prompt: GOAL }, {}, ada, useCase));
      expect(refused).toBeInstanceOf(LimitReachedError);
      expect(refused).toMatchObject({ code: 'AI_QUOTA_EXCEEDED' });
      const { retryAfterSeconds } = refused as LimitReachedError;
      expect(retryAfterSeconds).toBeGreaterThan(0);
      expect(retryAfterSeconds).toBeLessThanOrEqual(3600);
      expect(generator.requests).toHaveLength(2);
      expect(monitor.last).toEqual({ userId: 1, outcome: 'quota_exceeded', durationMs: null, usage: null, drafts: 0 });
      expect(await tasks.count(1, {})).toBe(2);

      // Retry-After is honest: once it has passed, the same request goes through.
      clock.advanceSeconds(retryAfterSeconds);
      expect(saved(await run({ prompt: GOAL }, {}, ada, useCase)).tasks.map((t) => t.title)).toEqual(['C']);
    });

    it('is kept per user', async () => {
      const useCase = generation(1);
      generator.answerWith(proposals([{ title: 'A' }]), proposals([{ title: 'B' }]));
      await run({ prompt: GOAL }, {}, ada, useCase);
      await failsWith(run({ prompt: GOAL }, {}, ada, useCase), 'AI_QUOTA_EXCEEDED');

      expect(saved(await run({ prompt: GOAL }, {}, bob, useCase)).tasks).toEqual([expect.objectContaining({ userId: 2, title: 'B' })]);
    });

    it('counts requests whose answer failed or was unusable, and draft requests', async () => {
      const useCase = generation(3);
      generator.answerWith(failure('provider_failed'), rawAnswer('not JSON'), proposals([{ title: 'A' }]));
      await failsWith(run({ prompt: GOAL }, {}, ada, useCase), 'AI_PROVIDER_FAILED');
      await failsWith(run({ prompt: GOAL }, {}, ada, useCase), 'AI_ANSWER_UNUSABLE');
      await run({ prompt: GOAL, save: false }, {}, ada, useCase);

      await failsWith(run({ prompt: GOAL }, {}, ada, useCase), 'AI_QUOTA_EXCEEDED');
      expect(generator.requests).toHaveLength(3);
    });
  });

  describe('when the model does not deliver', () => {
    const failures = [
      ['provider_failed', 'AI_PROVIDER_FAILED'],
      ['timed_out', 'AI_TIMED_OUT'],
      ['cancelled', 'AI_CANCELLED'],
    ] as const;

    for (const [reason, code] of failures) {
      it(`${reason} → ${code}, nothing stored, the outcome recorded without text`, async () => {
        generator.answerWith(failure(reason));
        await failsWith(run({ prompt: GOAL }, { idempotencyKey: 'k' }), code);

        expect(await tasks.count(1, {})).toBe(0);
        expect(await events.all()).toEqual([]);
        expect(monitor.records).toEqual([{ userId: 1, outcome: reason, durationMs: expect.any(Number), usage: null, drafts: 0 }]);
      });
    }

    const unusable: Array<[string, ReturnType<typeof rawAnswer>]> = [
      ['not JSON', rawAnswer('Sure! 1. Send invitations 2. Buy a cake')],
      ['no text at all', rawAnswer(null, null)],
      ['an empty object', rawAnswer('{}')],
      ['no valid item', proposals([{ title: '' }, { title: 'A', priority: 'critical' }, 'Buy a cake', { user_id: 2, status: 'done' }])],
    ];
    for (const [what, answer] of unusable) {
      it(`answers AI_ANSWER_UNUSABLE for ${what}, storing nothing`, async () => {
        generator.answerWith(answer);
        await failsWith(run({ prompt: GOAL }), 'AI_ANSWER_UNUSABLE');

        expect(await tasks.count(1, {})).toBe(0);
        expect(await events.all()).toEqual([]);
        const { kind: _kind, ...given } = answer as Extract<typeof answer, { kind: 'answer' }>;
        expect(monitor.records).toEqual([{ userId: 1, outcome: 'unusable_answer', durationMs: expect.any(Number), usage: given.usage ?? null, drafts: 0 }]);
      });
    }

    it('never puts the prompt or the answer in what it records', async () => {
      const secret = 'my-secret-goal-7f3a';
      generator.answerWith(proposals([{ title: `${secret} answer` }]), rawAnswer(`${secret} not json`), failure('provider_failed'));
      await settled(run({ prompt: secret }));
      await settled(run({ prompt: secret }));
      await settled(run({ prompt: secret }));
      expect(monitor.records).toHaveLength(3);
      expect(JSON.stringify(monitor.records)).not.toContain(secret);
    });

    it('passes the caller’s signal to the model: aborting it cancels the request, and nothing is stored', async () => {
      const controller = new AbortController();
      generator.answerWith(hang, proposals([{ title: 'A' }]));
      const asked = generator.nextRequest();
      const pending = settled(run({ prompt: GOAL }, { signal: controller.signal, idempotencyKey: 'k' }));
      const request = await asked;
      expect(request.signalAborted).toBe(false);

      controller.abort();
      await failsWith(pending, 'AI_CANCELLED');
      expect(request.signalAborted).toBe(true);
      expect(monitor.last).toMatchObject({ outcome: 'cancelled' });
      expect(await tasks.count(1, {})).toBe(0);

      // The key is free again: the client's retry creates the tasks.
      expect(saved(await run({ prompt: GOAL }, { idempotencyKey: 'k' }))).toMatchObject({ replayed: false, tasks: [expect.objectContaining({ title: 'A' })] });
    });
  });

  describe('Idempotency-Key', () => {
    it('replays a retry with the same key and body: the same tasks, without asking the model or charging the quota', async () => {
      const useCase = generation(1);
      generator.answerWith(proposals([{ title: 'A' }, { title: 'B' }]));
      const first = saved(await run({ prompt: GOAL, maxTasks: 2 }, { idempotencyKey: 'gen-1' }, ada, useCase));

      const again = await run({ prompt: GOAL, maxTasks: 2 }, { idempotencyKey: 'gen-1' }, ada, useCase);
      expect(again).toEqual({ saved: true, tasks: first.tasks, replayed: true });
      expect(generator.requests).toHaveLength(1);
      expect(await tasks.count(1, {})).toBe(2);
      expect(await events.all()).toHaveLength(2);
      // The quota of one was used by the first request only; the replay left it alone.
      expect(monitor.records.map((r) => r.outcome)).toEqual(['succeeded']);
    });

    it('refuses the same key with another body, and a key already used on POST /tasks', async () => {
      generator.answerWith(proposals([{ title: 'A' }]));
      await run({ prompt: GOAL }, { idempotencyKey: 'k1' });
      await failsWith(run({ prompt: `${GOAL}!` }, { idempotencyKey: 'k1' }), 'IDEMPOTENCY_KEY_REUSED', 'idempotency-key');
      await failsWith(run({ prompt: GOAL, maxTasks: 6 }, { idempotencyKey: 'k1' }), 'IDEMPOTENCY_KEY_REUSED');

      await createTask.execute(ada, { title: GOAL }, 'k2');
      await failsWith(run({ prompt: GOAL }, { idempotencyKey: 'k2' }), 'IDEMPOTENCY_KEY_REUSED');
      // And the other way round.
      await failsWith(createTask.execute(ada, { title: GOAL }, 'k1'), 'IDEMPOTENCY_KEY_REUSED');

      expect(generator.requests).toHaveLength(1);
      expect(await tasks.count(1, {})).toBe(2);
    });

    it('frees the key of a failed generation: the retry asks the model again and creates the tasks', async () => {
      generator.answerWith(failure('provider_failed'), proposals([{ title: 'A' }]));
      await failsWith(run({ prompt: GOAL }, { idempotencyKey: 'k' }), 'AI_PROVIDER_FAILED');

      const retry = saved(await run({ prompt: GOAL }, { idempotencyKey: 'k' }));
      expect(retry.replayed).toBe(false);
      expect(retry.tasks.map((t) => t.title)).toEqual(['A']);
      expect(saved(await run({ prompt: GOAL }, { idempotencyKey: 'k' }))).toEqual({ saved: true, tasks: retry.tasks, replayed: true });
    });

    it('frees the key of a request refused by the quota', async () => {
      const useCase = generation(1);
      generator.answerWith(proposals([{ title: 'A' }]), proposals([{ title: 'B' }]));
      await run({ prompt: GOAL }, {}, ada, useCase);
      await failsWith(run({ prompt: GOAL }, { idempotencyKey: 'k' }, ada, useCase), 'AI_QUOTA_EXCEEDED');

      clock.advanceSeconds(3600);
      expect(saved(await run({ prompt: GOAL }, { idempotencyKey: 'k' }, ada, useCase))).toMatchObject({ replayed: false, tasks: [expect.objectContaining({ title: 'B' })] });
    });

    it('answers a retry while the first request still waits for the model with IDEMPOTENCY_KEY_IN_FLIGHT, charging nothing', async () => {
      const useCase = generation(1);
      const controller = new AbortController();
      generator.answerWith(hang);
      const asked = generator.nextRequest();
      const first = settled(run({ prompt: GOAL }, { idempotencyKey: 'k', signal: controller.signal }, ada, useCase));
      await asked;

      await failsWith(run({ prompt: GOAL }, { idempotencyKey: 'k' }, ada, useCase), 'IDEMPOTENCY_KEY_IN_FLIGHT');
      expect(generator.requests).toHaveLength(1);
      expect(monitor.records).toEqual([]);

      controller.abort();
      await failsWith(first, 'AI_CANCELLED');
    });

    it('holds the key for as long as the model may take, so a retry cannot ask the model a second time', async () => {
      const useCase = generation(10, generator, 300_000);
      const controller = new AbortController();
      generator.answerWith(hang);
      const asked = generator.nextRequest();
      const first = settled(run({ prompt: GOAL }, { idempotencyKey: 'slow', signal: controller.signal }, ada, useCase));
      await asked;

      clock.advanceSeconds(299);
      await failsWith(run({ prompt: GOAL }, { idempotencyKey: 'slow' }, ada, useCase), 'IDEMPOTENCY_KEY_IN_FLIGHT');
      expect(generator.requests).toHaveLength(1);

      controller.abort();
      await failsWith(first, 'AI_CANCELLED');
    });

    it('refuses a malformed key with VALIDATION_FAILED, before asking the model', async () => {
      for (const key of ['', 'with space', 'é', 'k'.repeat(256)]) {
        await failsWith(run({ prompt: GOAL }, { idempotencyKey: key }), 'VALIDATION_FAILED', 'idempotency-key');
      }
      expect(generator.requests).toEqual([]);
    });

    it('does not claim the key for drafts: each draft request reaches the model, and the key stays free', async () => {
      generator.answerWith(proposals([{ title: 'A' }]), proposals([{ title: 'B' }]), proposals([{ title: 'C' }]));
      expect(await run({ prompt: GOAL, save: false }, { idempotencyKey: 'k' })).toMatchObject({ saved: false, drafts: [{ title: 'A' }] });
      expect(await run({ prompt: GOAL, save: false }, { idempotencyKey: 'k' })).toMatchObject({ saved: false, drafts: [{ title: 'B' }] });
      expect(generator.requests).toHaveLength(2);

      expect(saved(await run({ prompt: GOAL }, { idempotencyKey: 'k' }))).toMatchObject({ replayed: false, tasks: [expect.objectContaining({ title: 'C' })] });
    });
  });

  describe('the transaction', () => {
    it('leaves no task and no event when creating the second task fails, and frees the key', async () => {
      generator.answerWith(proposals([{ title: 'A' }, { title: 'B' }, { title: 'C' }]), proposals([{ title: 'D' }, { title: 'E' }]));
      tasks.failCreateNumber(2);
      await expect(run({ prompt: GOAL }, { idempotencyKey: 'k' })).rejects.toThrow('database went away');

      expect(await tasks.count(1, {})).toBe(0);
      expect(await events.all()).toEqual([]);

      const retry = saved(await run({ prompt: GOAL }, { idempotencyKey: 'k' }));
      expect(retry).toMatchObject({ replayed: false });
      expect(await storedOf(1)).toEqual(retry.tasks);
      expect(retry.tasks.map((t) => t.title)).toEqual(['D', 'E']);
      expect(await events.all()).toHaveLength(2);
    });
  });
});
