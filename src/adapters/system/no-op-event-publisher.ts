import type { DomainEvent, EventPublisher } from '../../application/index.js';

/** The first adapter of the event port: nothing listens yet (WebSocket and sync feeds will). */
export class NoOpEventPublisher implements EventPublisher {
  async publish(_event: DomainEvent): Promise<void> {}
}
