/**
 * A whole number written in decimal digits only — no sign, exponent, point or spaces, which
 * Number() would accept — within [min, max]; null otherwise. Settings and CLI options alike.
 */
export function parseWholeNumber(text: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}
