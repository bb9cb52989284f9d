import { describe, expect, it } from 'vitest';
import { callElapsed, formatDuration, historyDuration, remoteLabel } from './format';
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
