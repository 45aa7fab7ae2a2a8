import { ValidationError } from './errors.js';

/** Length in Unicode code points, the unit every limit of the API is expressed in. */
export const codePointLength = (value: string): number => {
  let length = 0;
  for (const _ of value) length++;
  return length;
};

export interface TextRule {
  min: number;
  max: number;
}

/** Trims and checks a length bound; the one place that decides what "too long" means. */
export function boundedText(field: string, raw: string, rule: TextRule): string {
  const value = raw.trim();
  const length = codePointLength(value);
  if (length < rule.min) {
    throw ValidationError.field(field, rule.min === 1 ? 'must not be empty' : `must be at least ${rule.min} characters`);
  }
  if (length > rule.max) throw ValidationError.field(field, `must be at most ${rule.max} characters`);
  return value;
}
