export interface DomainEvent<TType extends string = string, TPayload = unknown> {
  type: TType;
  /** The user whose data changed: the audience of the event. */
  userId: number;
  occurredAt: Date;
  payload: TPayload;
}

/** Where use cases announce what changed: live updates, sync feeds and jobs subscribe here. */
export interface EventPublisher {
  publish(event: DomainEvent): Promise<void>;
}

export const EVENT_PUBLISHER = Symbol('EventPublisher');
