export interface IdGenerator {
  /** An unguessable identifier (a UUID). */
  next(): string;
}

export const ID_GENERATOR = Symbol('IdGenerator');
