import type { AttachmentRepository } from './attachment-repository.js';
import type { EventPublisher } from './event-publisher.js';
import type { IdempotencyKeys } from './idempotency-store.js';
import type { ExportRepository } from './export-repository.js';
import type { TaskRepository } from './task-repository.js';

/** The stores a unit of work may write through; every write made through them commits or rolls back together. */
export interface TransactionScope {
  tasks: TaskRepository;
  idempotency: IdempotencyKeys;
  exports: ExportRepository;
  attachments: AttachmentRepository;
  /** Publishes the unit's events (see EventPublisher): they commit with its writes, or not at all. */
  events: EventPublisher;
}

/**
 * Runs a unit of work in one transaction: it commits when `work` resolves and rolls back when it
 * rejects (the rejection is passed on). Only writes made through the scope's stores belong to it;
 * calls to other systems belong after `run` has resolved.
 */
export interface TransactionRunner {
  run<T>(work: (scope: TransactionScope) => Promise<T>): Promise<T>;
}

export const TRANSACTION_RUNNER = Symbol('TransactionRunner');
