export interface DomainEvent<TType extends string = string, TPayload = unknown> {
  type: TType;
  /** The user whose data changed: the audience of the event. */
  userId: number;
  occurredAt: Date;
  payload: TPayload;
}

/**
 * Where use cases announce what changed. Given by a unit of work (TransactionScope.events), it
 * appends to the change log in the same transaction as the change.
 */
export interface EventPublisher {
  publish(event: DomainEvent): Promise<void>;
}

export const EVENT_PUBLISHER = Symbol('EventPublisher');
