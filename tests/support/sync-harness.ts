import {
  CreateTask,
  DeleteTask,
  PatchTask,
  PurgeExpiredEvents,
  SyncTasks,
  TaskUpdater,
  type Principal,
  type SyncPage,
} from '../../src/application/index.js';
import type { Task } from '../../src/domain/index.js';
import { InMemoryChangeLog } from '../../src/adapters/persistence/memory/in-memory-change-log.js';
import { InMemoryEventPublisher } from '../../src/adapters/persistence/memory/in-memory-event-publisher.js';
import { InMemoryEventTicketStore } from '../../src/adapters/persistence/memory/in-memory-event-ticket-store.js';
import { InMemoryIdempotencyStore } from '../../src/adapters/persistence/memory/in-memory-idempotency-store.js';
import { InMemoryTaskRepository } from '../../src/adapters/persistence/memory/in-memory-task-repository.js';
import { InMemoryTransactionRunner } from '../../src/adapters/persistence/memory/in-memory-transaction-runner.js';
import { HmacCursorCodec } from '../../src/adapters/security/hmac-cursor-codec.js';
import { FixedClock } from './fakes.js';
import { aReminderScheduler } from './reminders.js';

export const SEVEN_DAYS_MS = 7 * 86_400_000;

export interface SyncHarnessOptions {
  retentionMs?: number;
  /** Stores of one's own (subclasses that stage races, say). */
  tasks?: InMemoryTaskRepository;
  log?: InMemoryChangeLog;
}

/** The task writes, the sync feed and the purge on in-memory adapters, wired as the container wires them. */
export function syncHarness({ retentionMs = SEVEN_DAYS_MS, tasks = new InMemoryTaskRepository(), log = new InMemoryChangeLog() }: SyncHarnessOptions = {}) {
  const clock = new FixedClock();
  const tickets = new InMemoryEventTicketStore();
  const idempotency = new InMemoryIdempotencyStore();
  const transactions = new InMemoryTransactionRunner(tasks, idempotency, log);
  const events = new InMemoryEventPublisher(log);
  const codec = HmacCursorCodec.fromSecret('sync-test-secret');
  return {
    clock,
    tasks,
    log,
    tickets,
    codec,
    createTask: new CreateTask(tasks, idempotency, transactions, events, clock, aReminderScheduler()),
    patchTask: new PatchTask(new TaskUpdater(tasks, transactions, events, clock, aReminderScheduler())),
    deleteTask: new DeleteTask(tasks, events, clock, aReminderScheduler()),
    syncTasks: new SyncTasks(tasks, log, codec, clock, { retentionMs }),
    purge: new PurgeExpiredEvents(log, tickets, clock, retentionMs),
  };
}

/**
 * An offline client's copy of its tasks, kept by applying sync pages as the contract says: a
 * first page of a full sync starts the copy afresh, every page upserts its tasks and drops its
 * tombstones, and the next request resumes from the page's token.
 */
export class SyncClient {
  readonly copy = new Map<number, Task>();
  token: string | undefined;

  constructor(
    private readonly sync: SyncTasks,
    private readonly actor: Principal,
  ) {}

  async page(limit: number): Promise<SyncPage> {
    const page = await this.sync.execute(this.actor, { since: this.token, limit });
    this.apply(page);
    return page;
  }

  /** Pages until has_more is false; returns every page. */
  async untilDone(limit: number): Promise<SyncPage[]> {
    const pages = [await this.page(limit)];
    while (pages[pages.length - 1]!.hasMore) pages.push(await this.page(limit));
    return pages;
  }

  /** Forgets the token: the next page starts a full sync. */
  restart(): void {
    this.token = undefined;
  }

  /** The copy, in id order, to compare with the server's tasks. */
  tasks(): Task[] {
    return [...this.copy.values()].sort((a, b) => a.id - b.id);
  }

  private apply(page: SyncPage): void {
    if (page.fullSync) this.copy.clear();
    for (const task of page.tasks) this.copy.set(task.id, task);
    for (const { id } of page.deleted) this.copy.delete(id);
    this.token = page.syncToken;
  }
}
