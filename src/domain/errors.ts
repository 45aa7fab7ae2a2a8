/** Stable, client-facing codes for every expected failure. Adapters map them to transports. */
export type DomainErrorCode =
  | 'VALIDATION_FAILED'
  | 'USERNAME_TAKEN'
  | 'EMAIL_TAKEN'
  | 'INVALID_CREDENTIALS'
  | 'INVALID_TOKEN'
  | 'INVALID_SCOPE'
  | 'LOGIN_SESSION_REQUIRED'
  | 'PERSONAL_TOKEN_NOT_FOUND'
  | 'FORBIDDEN'
  | 'CURRENT_PASSWORD_WRONG'
  | 'USER_NOT_FOUND'
  | 'TASK_NOT_FOUND'
  | 'VERSION_MISMATCH'
  | 'INVALID_CURSOR'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_KEY_IN_FLIGHT'
  | 'HISTORY_GONE'
  | 'TOO_MANY_STREAMS'
  | 'EXPORT_NOT_FOUND'
  | 'EXPORT_NOT_READY'
  | 'EXPORT_EXPIRED'
  | 'ATTACHMENT_NOT_FOUND'
  | 'ATTACHMENT_TOO_LARGE'
  | 'ATTACHMENT_QUOTA_EXCEEDED'
  | 'ATTACHMENT_UPLOAD_TIMED_OUT'
  | 'AI_NOT_CONFIGURED'
  | 'AI_QUOTA_EXCEEDED'
  | 'AI_ANSWER_UNUSABLE'
  | 'AI_PROVIDER_FAILED'
  | 'AI_TIMED_OUT'
  | 'AI_CANCELLED';

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
  }
}

/** A limit the caller has reached for now: the same request succeeds after `retryAfterSeconds`. */
export class LimitReachedError extends DomainError {
  constructor(
    code: DomainErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}

export class ValidationError extends DomainError {
  constructor(fieldErrors: FieldError[], message = 'The request has invalid fields.') {
    super('VALIDATION_FAILED', message, fieldErrors);
  }

  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

/**
 * Runs every field's parser and reports all failures at once, so a client fixes a form in one
 * round trip. Returns the parsed values under the same keys.
 */
export function parseFields<T extends Record<string, () => unknown>>(parsers: T): { [K in keyof T]: ReturnType<T[K]> } {
  const parsed: Record<string, unknown> = {};
  const fieldErrors: FieldError[] = [];
  for (const [key, parse] of Object.entries(parsers)) {
    try {
      parsed[key] = parse();
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      fieldErrors.push(...error.fieldErrors);
    }
  }
  if (fieldErrors.length > 0) throw new ValidationError(fieldErrors);
  return parsed as { [K in keyof T]: ReturnType<T[K]> };
}
