import type { DomainEvent } from './event-publisher.js';

/** An event as the change log keeps it. */
export interface LoggedEvent extends DomainEvent {
  /** What clients resume from: names one event of one user, never reused. */
  id: string;
  /** The event's place in its user's log; one user's positions follow the order their changes committed. */
  position: number;
}

/**
 * Each user's committed changes, in commit order: the one source the live streams, the sync feed
 * and reminders read. Events are appended when use cases publish them (see EventPublisher), or
 * by the store itself with the write they tell of; this port reads them.
 */
export interface ChangeLog {
  /** The position of that event in this user's log; null when the user has no such event (another user's, never issued, or purged). */
  positionOf(userId: number, eventId: string): Promise<number | null>;
  /** The user's events after `position`, oldest first, at most `limit`. */
  readAfter(userId: number, position: number, limit: number): Promise<LoggedEvent[]>;
  /** The user's newest event, if the log still holds one. */
  latest(userId: number): Promise<LoggedEvent | null>;
  /** The user's newest position (0 before their first event), purged events included. */
  head(userId: number): Promise<number>;
  /** The newest position of each of these users (0 before their first event), in one read: what a sweep of many streams asks. */
  heads(userIds: readonly number[]): Promise<Map<number, number>>;
  /** Forgets events that occurred before `cutoff`; returns how many. */
  purgeBefore(cutoff: Date): Promise<number>;
}

export const CHANGE_LOG = Symbol('ChangeLog');

/**
 * Says "this user has new events", within an instance and across instances. Only a hint: a
 * listener reads the log itself, so a lost notice delays an event but never loses it.
 */
export interface ChangeNotifier {
  /** After a commit that appended events for these users. */
  notify(userIds: readonly number[]): void;
  /**
   * Calls `listener` for every notice, from this instance or another, and `onMissed` when notices
   * from other instances may have been lost (the connection that carries them was down): any
   * user may then have new events. Returns the unsubscribe.
   */
  listen(listener: (userId: number) => void, onMissed?: () => void): () => void;
  close(): Promise<void>;
}

export const CHANGE_NOTIFIER = Symbol('ChangeNotifier');
