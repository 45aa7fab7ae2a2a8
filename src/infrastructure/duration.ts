const UNIT_SECONDS: Record<string, number> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hour: 3600, hours: 3600,
  d: 86_400, day: 86_400, days: 86_400,
};

/** "900", "15m", "30d", "1 minute" → seconds; null when unreadable. */
export function parseDurationSeconds(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return null;
  const unit = match[2]!.toLowerCase();
  const factor = unit === '' ? 1 : UNIT_SECONDS[unit];
  if (factor === undefined) return null;
  const seconds = Number(match[1]) * factor;
  return seconds > 0 ? seconds : null;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "1048576", "512kb", "1mb", "1gb" → bytes; null when unreadable. */
export function parseByteSize(text: string): number | null {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const factor = match && SIZE_UNITS[match[2]!.toLowerCase()];
  if (!match || !factor) return null;
  const bytes = Number(match[1]) * factor;
  return bytes > 0 ? bytes : null;
}
