import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatUtc, parseUtc } from '../../src/adapters/shared/utc-timestamps.js';

const sameInstant = (a: Date, b: Date) => Object.is(a.getTime(), b.getTime());
const anyDate = fc.date({ min: new Date(-8_640_000_000_000_000), max: new Date(8_640_000_000_000_000), noInvalidDate: false });

describe('UTC timestamps, as the built-ins would have them', () => {
  it('formatUtc is Date#toISOString, for every date (invalid ones throw alike)', () => {
    fc.assert(
      fc.property(anyDate, (date) => {
        if (Number.isNaN(date.getTime())) {
          expect(() => formatUtc(date)).toThrow(RangeError);
          return;
        }
        expect(formatUtc(date)).toBe(date.toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it('formatUtc is Date#toISOString across the years 0000 to 9999, where it does its own arithmetic', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (time) => {
        expect(formatUtc(new Date(time))).toBe(new Date(time).toISOString());
      }),
      { numRuns: 50_000 },
    );
  });

  it('parseUtc reads back every timestamp toISOString writes', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (date) => {
        expect(parseUtc(date.toISOString()).getTime()).toBe(date.getTime());
      }),
      { numRuns: 20_000 },
    );
  });

  it('parseUtc is new Date(text) for near misses and any other text', () => {
    const digit = fc.constantFrom(...'0123456789');
    const nearMiss = fc
      .tuple(fc.array(digit, { minLength: 4, maxLength: 4 }), fc.array(digit, { minLength: 13, maxLength: 13 }))
      .map(([y, r]) => `${y.join('')}-${r[0]}${r[1]}-${r[2]}${r[3]}T${r[4]}${r[5]}:${r[6]}${r[7]}:${r[8]}${r[9]}.${r[10]}${r[11]}${r[12]}Z`);
    fc.assert(
      fc.property(fc.oneof(nearMiss, fc.string(), fc.constantFrom('2026-02-29T10:00:00.000Z', '2024-02-29T10:00:00.000Z', '2026-11-22T24:00:00.000Z', '2026-11-22T10:00:00.000+01:00')), (text) => {
        expect(sameInstant(parseUtc(text), new Date(text))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });
});
