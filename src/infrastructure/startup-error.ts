/**
 * The service cannot start as configured (its database cannot be reached, or its schema is behind
 * the code): the message is the one line the process prints before exiting 1.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
