import { createHash, randomBytes } from 'node:crypto';
import type { PersonalTokenSecret, PersonalTokenSecrets } from '../../application/index.js';
import { PERSONAL_TOKEN_PREFIX } from '../../domain/index.js';


/**
 * The secret carries 256 random bits, so a plain SHA-256 of it cannot be reversed or guessed
 * from a stolen database, and it is cheap enough to compute on every request — argon2 would cost
 * each request what it costs a login. Unkeyed, it does not depend on JWT_SECRET: rotating that
 * secret leaves personal access tokens working.
 */
export class Sha256PersonalTokenSecrets implements PersonalTokenSecrets {
  /** 32 random bytes in base64url after the prefix. */
  private readonly form: RegExp;

  /** The prefix tells the kinds of secret apart: personal access tokens by default, event tickets with theirs. */
  constructor(private readonly prefix: string = PERSONAL_TOKEN_PREFIX) {
    this.form = new RegExp(`^${prefix}[A-Za-z0-9_-]{43}$`);
  }

  generate(): PersonalTokenSecret {
    const token = this.prefix + randomBytes(32).toString('base64url');
    return { token, digest: this.hash(token) };
  }

  digest(token: string): string | null {
    return this.form.test(token) ? this.hash(token) : null;
  }

  private hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }
}
