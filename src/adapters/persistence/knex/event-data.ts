/**
 * An event's payload as the `events.data` column holds it: JSON, with every Date marked so that
 * it comes back a Date (task times, export expiries…) rather than a string.
 */
const DATE_MARK = '$date';

export function toEventData(payload: unknown): string {
  return JSON.stringify(payload, function (this: Record<string, unknown>, key, value: unknown) {
    const original = this[key];
    return original instanceof Date ? { [DATE_MARK]: original.toISOString() } : value;
  });
}

export function fromEventData(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === DATE_MARK) return new Date((value as Record<string, string>)[DATE_MARK]!);
    }
    return value;
  });
}
