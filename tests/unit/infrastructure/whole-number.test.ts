import { describe, expect, it } from 'vitest';
import { parseWholeNumber } from '../../../src/infrastructure/whole-number.js';

describe('parseWholeNumber', () => {
  it('reads decimal digits within the bounds', () => {
    expect(parseWholeNumber('0', 0, 10)).toBe(0);
    expect(parseWholeNumber('007', 0, 10)).toBe(7);
    expect(parseWholeNumber('65535', 0, 65_535)).toBe(65_535);
  });

  it.each(['', ' 5', '5 ', '+5', '-1', '1e3', '5.0', '0x10', 'five', '11'])('refuses "%s" (0 to 10)', (text) => {
    expect(parseWholeNumber(text, 0, 10)).toBeNull();
  });
});
