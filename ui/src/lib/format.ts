// Formatting durations, times, numbers and remote parties for display (plain text only). Numbers,
// dates and times follow the window's locale (./i18n.svelte.ts) through Intl; every function takes
// an optional BCP 47 tag to format for another one (tests).

import type { CallInfo, HistoryEntry } from './types';
import { intlLocale } from './i18n.svelte';

const numberFormats = new Map<string, Intl.NumberFormat>();
function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, options);
    numberFormats.set(key, format);
  }
  return format;
}

/** A number with exactly `digits` decimals in the locale's way ("4.2", "4,2"). */
export function formatNumber(value: number, digits = 0, locale: string = intlLocale()): string {
  return numberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/**
 * `m:ss` under an hour, `h:mm:ss` above (a stopwatch, the same shape in every language; the
 * digits are the locale's); negative or missing counts as zero.
 */
export function formatDuration(ms: number | null | undefined, locale: string = intlLocale()): string {
  const total = Math.max(0, Math.floor((ms ?? 0) / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const plain = numberFormat(locale, { useGrouping: false });
  const two = numberFormat(locale, { useGrouping: false, minimumIntegerDigits: 2 });
  const ss = two.format(seconds);
  return hours > 0 ? `${plain.format(hours)}:${two.format(minutes)}:${ss}` : `${plain.format(minutes)}:${ss}`;
}

/** Time a call has been connected, or null when it has not been answered. */
export function callElapsed(call: Pick<CallInfo, 'answered_at_ms'>, now: number): number | null {
  return call.answered_at_ms == null ? null : now - call.answered_at_ms;
}

/** Talk time of a finished call, or null if it was never answered. */
export function historyDuration(entry: HistoryEntry): number | null {
  return entry.answered_at_ms == null ? null : entry.ended_at_ms - entry.answered_at_ms;
}

/**
 * Start time of a history row: time only for today, date and time otherwise, in the locale's way
 * ("2:05 PM" / "14:05"; "Mar 3, 2:05 PM" / "3. März, 14:05"). `timeZone`: for tests.
 */
export function formatWhen(ms: number, now: number = Date.now(), locale: string = intlLocale(), timeZone?: string): string {
  const date = new Date(ms);
  const day = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const time = { hour: '2-digit', minute: '2-digit', timeZone } as const;
  if (day.format(date) === day.format(new Date(now))) return new Intl.DateTimeFormat(locale, time).format(date);
  return new Intl.DateTimeFormat(locale, { ...time, day: 'numeric', month: 'short' }).format(date);
}

/** Name to show for a remote party: the display name, else the URI's user@host. */
export function remoteLabel(displayName: string | null | undefined, uri: string): string {
  const name = displayName?.trim();
  if (name) return name;
  return uri.replace(/^sips?:/i, '').replace(/[;?].*$/, '') || uri;
}
