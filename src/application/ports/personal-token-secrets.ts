export interface PersonalTokenSecret {
  /** Shown to its owner once. */
  token: string;
  digest: string;
}

/** Makes the secrets of personal access tokens and the digests they are found by. */
export interface PersonalTokenSecrets {
  generate(): PersonalTokenSecret;
  /** The digest of a presented token; null when it cannot be one of ours (wrong form). */
  digest(token: string): string | null;
}

export const PERSONAL_TOKEN_SECRETS = Symbol('PersonalTokenSecrets');

/** The same kind of secret, for the single-use tickets of `GET /events`. */
export const EVENT_TICKET_SECRETS = Symbol('EventTicketSecrets');
