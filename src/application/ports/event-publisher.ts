export interface DomainEvent<TType extends string = string, TPayload = unknown> {
  type: TType;
  /** The user whose data changed: the audience of the event. */
  userId: number;
  occurredAt: Date;
  payload: TPayload;
}

/**
 * Where use cases announce what changed, once they have changed it. Publishing appends the event
 * to the user's change log, unless the store has already recorded it with the write, atomically,
 * and announces it to the user's live streams. The standalone publisher (EVENT_PUBLISHER) is
 * for a write made outside a unit of work, after it; a unit of work's (TransactionScope.events)
 * appends in the unit's transaction and announces once it has committed.
 */
export interface EventPublisher {
  publish(event: DomainEvent): Promise<void>;
}

export const EVENT_PUBLISHER = Symbol('EventPublisher');
