import type { ChangeLog, DomainEvent, LoggedEvent } from '../../../application/index.js';

/**
 * The change log in memory (tests, demos). Appends come through a unit of work
 * (InMemoryTransactionRunner), which makes them only when the unit commits, or through
 * InMemoryEventPublisher, after a write made outside one.
 */
export class InMemoryChangeLog implements ChangeLog {
  private readonly logs = new Map<number, LoggedEvent[]>();
  private readonly lastPositions = new Map<number, number>();
  private lastId = 0;

  append(event: DomainEvent): LoggedEvent {
    const position = (this.lastPositions.get(event.userId) ?? 0) + 1;
    const logged: LoggedEvent = { ...structuredClone(event), id: String(++this.lastId), position };
    this.lastPositions.set(event.userId, position);
    const log = this.logs.get(event.userId) ?? [];
    log.push(logged);
    this.logs.set(event.userId, log);
    return logged;
  }

  async positionOf(userId: number, eventId: string): Promise<number | null> {
    return this.logs.get(userId)?.find((event) => event.id === eventId)?.position ?? null;
  }

  async readAfter(userId: number, position: number, limit: number): Promise<LoggedEvent[]> {
    const log = this.logs.get(userId) ?? [];
    return log.filter((event) => event.position > position).slice(0, limit).map((event) => structuredClone(event));
  }

  async latest(userId: number): Promise<LoggedEvent | null> {
    const newest = this.logs.get(userId)?.at(-1);
    return newest ? structuredClone(newest) : null;
  }

  async head(userId: number): Promise<number> {
    return this.lastPositions.get(userId) ?? 0;
  }

  async heads(userIds: readonly number[]): Promise<Map<number, number>> {
    return new Map(userIds.map((userId) => [userId, this.lastPositions.get(userId) ?? 0]));
  }

  /** Each log loses a prefix, up to its newest event older than the cutoff (see KnexChangeLog.purgeBefore). */
  async purgeBefore(cutoff: Date): Promise<number> {
    let purged = 0;
    for (const [userId, log] of this.logs) {
      const last = log.reduce((newest, event) => (event.occurredAt < cutoff ? Math.max(newest, event.position) : newest), 0);
      const kept = log.filter((event) => event.position > last);
      purged += log.length - kept.length;
      this.logs.set(userId, kept);
    }
    return purged;
  }

  deleteAllOf(userId: number): void {
    this.logs.delete(userId);
    this.lastPositions.delete(userId);
  }
}
