import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CursorCodec } from '../../application/index.js';

/**
 * Cursors are base64url JSON plus an HMAC-SHA256 tag: opaque to clients, and any change to them
 * (another position, user or filter) is detected rather than trusted.
 */
export class HmacCursorCodec implements CursorCodec {
  private constructor(private readonly key: Buffer) {}

  /** A key of its own, derived from the service secret so the two are never interchangeable. */
  static fromSecret(secret: string): HmacCursorCodec {
    return new HmacCursorCodec(createHmac('sha256', secret).update('taskforge:list-cursor:v1').digest());
  }

  encode(payload: unknown): string {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.tag(body).toString('base64url')}`;
  }

  decode(token: string): unknown {
    const parts = token.split('.');
    if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
    const [body, tag] = parts as [string, string];
    const expected = this.tag(body);
    const given = Buffer.from(tag, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
    } catch {
      return null;
    }
  }

  private tag(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest();
  }
}
