import { scopesAllowedFor } from '../../src/domain/index.js';
import type { AccessTokenGrant, Clock, IdGenerator, PasswordHasher, Principal, RegisterUserCommand, TokenService } from '../../src/application/index.js';

/** Time stands still until a test moves it. */
export class FixedClock implements Clock {
  constructor(private current = new Date('2026-11-22T10:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advanceMs(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }

  advanceSeconds(seconds: number): void {
    this.advanceMs(seconds * 1000);
  }
}

export class SequentialIds implements IdGenerator {
  private n = 0;
  next(): string {
    this.n += 1;
    return `00000000-0000-4000-8000-${String(this.n).padStart(12, '0')}`;
  }
}

/** Readable "hashes" and a record of every call, so tests can see the work a use case did. */
export class FakePasswordHasher implements PasswordHasher {
  readonly calls: string[] = [];
  async hash(plain: string): Promise<string> {
    this.calls.push('hash');
    return `hashed:${plain}`;
  }
  async verify(hash: string, plain: string): Promise<boolean> {
    this.calls.push('verify');
    return hash === `hashed:${plain}`;
  }
  async verifyAgainstDummy(_plain: string): Promise<false> {
    this.calls.push('verifyAgainstDummy');
    return false;
  }
}

/** Tokens that spell out their claims; only tokens it issued verify. */
export class FakeTokenService implements TokenService {
  readonly refreshTokenTtlSeconds = 3600;
  private serial = 0;
  issueAccessToken(claims: AccessTokenGrant) {
    return { token: `access.${claims.userId}.${claims.sessionId}.${++this.serial}`, expiresIn: 900 };
  }
  verifyAccessToken(token: string) {
    const match = /^access\.(\d+)\.([^.]+)\.\d+$/.exec(token);
    return match ? { userId: Number(match[1]), sessionId: match[2]! } : null;
  }
  newRefreshToken() {
    const token = `refresh-${++this.serial}`;
    return { token, digest: this.digestRefreshToken(token) };
  }
  digestRefreshToken(token: string): string {
    return `digest(${token})`;
  }
}

let serial = 0;

/** Object mother for sign-up commands: valid unless told otherwise. */
export function aRegistration(overrides: Partial<RegisterUserCommand> = {}): RegisterUserCommand {
  serial += 1;
  return { username: `user_${serial}`, email: `user_${serial}@example.com`, password: `password ${serial} long`, ...overrides };
}

export const principal = (userId: number, role: Principal['role'] = 'user', sessionId: string | null = 'session-x'): Principal => ({
  userId,
  role,
  sessionId,
  scopes: scopesAllowedFor(role),
});
