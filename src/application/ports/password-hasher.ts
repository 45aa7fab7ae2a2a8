export interface PasswordHasher {
  hash(plain: string): Promise<string>;
  verify(hash: string, plain: string): Promise<boolean>;
  /** Spends the same work as a real verify, so an unknown account is not revealed by timing. */
  verifyAgainstDummy(plain: string): Promise<false>;
}

export const PASSWORD_HASHER = Symbol('PasswordHasher');
