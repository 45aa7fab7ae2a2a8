import type { ChangeNotifier, DomainEvent, EventPublisher } from '../../../application/index.js';
import type { InMemoryChangeLog } from './in-memory-change-log.js';

/**
 * The publisher for writes made outside a unit of work, called once they are made: appends to the
 * log (memory has no schema to record events with the write) and announces it.
 */
export class InMemoryEventPublisher implements EventPublisher {
  constructor(
    private readonly log: InMemoryChangeLog,
    private readonly notifier?: ChangeNotifier,
  ) {}

  async publish(event: DomainEvent): Promise<void> {
    this.log.append(event);
    this.notifier?.notify([event.userId]);
  }
}
