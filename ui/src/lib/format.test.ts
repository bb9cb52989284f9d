import { describe, expect, it } from 'vitest';
import { callElapsed, formatDuration, formatNumber, formatWhen, historyDuration, remoteLabel } from './format';
import { setLanguage } from './i18n.svelte';
import type { HistoryEntry } from './types';

describe('formatDuration', () => {
  it('formats minutes and seconds', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(999)).toBe('0:00');
    expect(formatDuration(1000)).toBe('0:01');
    expect(formatDuration(65_500)).toBe('1:05');
    expect(formatDuration(59 * 60_000 + 59_000)).toBe('59:59');
  });
  it('adds hours past an hour', () => {
    expect(formatDuration(3600_000)).toBe('1:00:00');
    expect(formatDuration(3600_000 + 61_000)).toBe('1:01:01');
  });
  it('treats missing and negative as zero (clock skew)', () => {
    expect(formatDuration(null)).toBe('0:00');
    expect(formatDuration(-5000)).toBe('0:00');
  });
});

describe('durations of calls', () => {
  it('counts only from the answer', () => {
    expect(callElapsed({ answered_at_ms: null }, 10_000)).toBeNull();
    expect(callElapsed({ answered_at_ms: 4_000 }, 10_000)).toBe(6_000);
  });
  it('history talk time is answer to end', () => {
    const entry = { answered_at_ms: 1_000, ended_at_ms: 31_000 } as HistoryEntry;
    expect(historyDuration(entry)).toBe(30_000);
    expect(historyDuration({ ...entry, answered_at_ms: null })).toBeNull();
  });
});

describe('remoteLabel', () => {
  it('prefers the display name, else user@host of the URI', () => {
    expect(remoteLabel('Bob', 'sip:bob@example.com')).toBe('Bob');
    expect(remoteLabel('  ', 'sip:bob@example.com;transport=tcp')).toBe('bob@example.com');
    expect(remoteLabel(null, 'sips:carol@example.org')).toBe('carol@example.org');
  });
});

describe('per locale', () => {
  // 3 March 2026, 14:05 UTC, looked at on 10 March (another day) and on the same day.
  const when = Date.UTC(2026, 2, 3, 14, 5);
  const later = Date.UTC(2026, 2, 10, 9, 0);
  const sameDay = Date.UTC(2026, 2, 3, 18, 0);

  it('numbers use the locale decimal and grouping marks', () => {
    expect(formatNumber(4.25, 1, 'en')).toBe('4.3');
    expect(formatNumber(4.25, 1, 'de')).toBe('4,3');
    expect(formatNumber(4.25, 1, 'es')).toBe('4,3');
    expect(formatNumber(12345, 0, 'en')).toBe('12,345');
    expect(formatNumber(12345, 0, 'de')).toBe('12.345');
    expect(formatNumber(10.04, 1, 'en-US')).toBe('10.0');
  });

  it('durations keep the stopwatch shape, with the locale digits', () => {
    expect(formatDuration(65_500, 'de')).toBe('1:05');
    expect(formatDuration(3600_000 + 61_000, 'es')).toBe('1:01:01');
    expect(formatDuration(65_500, 'ar-EG')).toBe('١:٠٥');
  });

  it('times of today and dates of other days as each locale writes them', () => {
    expect(formatWhen(when, sameDay, 'en-US', 'UTC')).toBe('02:05 PM');
    expect(formatWhen(when, sameDay, 'de', 'UTC')).toBe('14:05');
    expect(formatWhen(when, later, 'en-US', 'UTC')).toBe('Mar 3, 02:05 PM');
    expect(formatWhen(when, later, 'de', 'UTC')).toBe('3. März, 14:05');
    expect(formatWhen(when, later, 'es', 'UTC')).toBe('3 mar, 14:05');
  });

  it('follow the window language when no locale is given', () => {
    setLanguage('de');
    try {
      expect(formatNumber(0.5, 1)).toBe('0,5');
      expect(formatWhen(when, later, undefined, 'UTC')).toBe('3. März, 14:05');
    } finally {
      setLanguage('system');
    }
    expect(formatNumber(0.5, 1)).toBe('0.5');
  });
});
