import argon2 from 'argon2';
import type { PasswordHasher } from '../../application/index.js';

export interface Argon2Options {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's minimum for argon2id (m = 19 MiB, t = 2, p = 1). */
export const OWASP_ARGON2ID: Argon2Options = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** argon2id; hashing runs on libuv's thread pool, off the event loop. */
export class Argon2PasswordHasher implements PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly options: Argon2Options = OWASP_ARGON2ID) {}

  hash(plain: string): Promise<string> {
    return argon2.hash(plain, { type: argon2.argon2id, ...this.options });
  }

  async verify(hash: string, plain: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, plain);
    } catch {
      return false; // a malformed stored hash matches nothing
    }
  }

  async verifyAgainstDummy(plain: string): Promise<false> {
    this.dummyHash ??= this.hash('taskforge-dummy-password');
    await this.verify(await this.dummyHash, plain);
    return false;
  }
}
