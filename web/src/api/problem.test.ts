import { describe, expect, it } from 'vitest';
import { problemMessage } from './problem';

describe('problemMessage', () => {
  it('tells how long to wait after a 429', () => {
    expect(problemMessage(429, { status: 429, detail: 'Rate limit exceeded' }, '42')).toBe('Too many requests. Try again in 42 s.');
    expect(problemMessage(429, undefined, null)).toBe('Too many requests. Try again in a moment.');
  });

  it('says the service is unavailable on a 503, and never shows a server error detail', () => {
    expect(problemMessage(503, { detail: 'database down' })).toBe('Taskforge is unavailable right now. Try again in a moment.');
    expect(problemMessage(500, { detail: 'internal' })).toBe('Something went wrong on our side. Try again in a moment.');
  });

  it('shows the problem detail and each invalid field of a 4xx', () => {
    expect(problemMessage(422, { detail: 'The request has invalid fields.', errors: [{ field: 'due_date', message: 'must be a date-time' }] })).toBe(
      'The request has invalid fields. due date must be a date-time.',
    );
    expect(problemMessage(401, { detail: 'Invalid username or password.' })).toBe('Invalid username or password.');
  });

  it('speaks of the connection when there was no response', () => {
    expect(problemMessage(null, undefined)).toMatch(/Cannot reach Taskforge/);
  });
});
