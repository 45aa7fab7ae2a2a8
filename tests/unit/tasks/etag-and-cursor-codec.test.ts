import { describe, expect, it } from 'vitest';
import { etagOf, expectedVersions, noneMatchHits } from '../../../src/adapters/http/etag.js';
import { HmacCursorCodec } from '../../../src/adapters/security/hmac-cursor-codec.js';

describe('entity tags', () => {
  it('reads If-Match with strong comparison', () => {
    expect(etagOf(3)).toBe('"3"');
    expect(expectedVersions(undefined)).toBeUndefined();
    expect(expectedVersions('*')).toBeUndefined();
    expect(expectedVersions('"3"')).toEqual([3]);
    expect(expectedVersions('"3", "5"')).toEqual([3, 5]);
    expect(expectedVersions('W/"3"')).toEqual([]);
    expect(expectedVersions('3')).toEqual([]);
    expect(expectedVersions('"0"')).toEqual([]);
    expect(expectedVersions('"99999999999999999999"')).toEqual([]);
  });

  it('reads If-None-Match with weak comparison', () => {
    expect(noneMatchHits(undefined, 3)).toBe(false);
    expect(noneMatchHits('"3"', 3)).toBe(true);
    expect(noneMatchHits('W/"3"', 3)).toBe(true);
    expect(noneMatchHits('"1", W/"3"', 3)).toBe(true);
    expect(noneMatchHits('*', 3)).toBe(true);
    expect(noneMatchHits('"4"', 3)).toBe(false);
  });
});

describe('HMAC cursor codec', () => {
  const codec = HmacCursorCodec.fromSecret('a secret of the service');

  it('round-trips a payload as opaque base64url text', () => {
    const token = codec.encode({ u: 1, p: ['é', 2] });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(codec.decode(token)).toEqual({ u: 1, p: ['é', 2] });
  });

  it('rejects anything altered, truncated or signed with another secret', () => {
    const token = codec.encode({ u: 1 });
    const [body, tag] = token.split('.') as [string, string];
    const forgedBody = Buffer.from(JSON.stringify({ u: 2 })).toString('base64url');
    for (const bad of [`${forgedBody}.${tag}`, `${body}.${tag.slice(1)}`, body, `${body}.`, `.${tag}`, `${token}.x`, '']) {
      expect(codec.decode(bad)).toBeNull();
    }
    expect(HmacCursorCodec.fromSecret('another secret').decode(token)).toBeNull();
  });
});
