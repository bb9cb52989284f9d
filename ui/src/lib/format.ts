// Formatting durations, times and remote parties for display (plain text only).

import type { CallInfo, HistoryEntry } from './types';

/** `m:ss` under an hour, `h:mm:ss` above; negative or missing counts as zero. */
export function formatDuration(ms: number | null | undefined): string {
  const total = Math.max(0, Math.floor((ms ?? 0) / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const ss = String(seconds).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
}

/** Time a call has been connected, or null when it has not been answered. */
export function callElapsed(call: Pick<CallInfo, 'answered_at_ms'>, now: number): number | null {
  return call.answered_at_ms == null ? null : now - call.answered_at_ms;
}

/** Talk time of a finished call, or null if it was never answered. */
export function historyDuration(entry: HistoryEntry): number | null {
  return entry.answered_at_ms == null ? null : entry.ended_at_ms - entry.answered_at_ms;
}

/** Start time of a history row: time only for today, date and time otherwise. */
export function formatWhen(ms: number, now: number = Date.now()): string {
  const date = new Date(ms);
  const today = new Date(now);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}`;
}

/** Name to show for a remote party: the display name, else the URI's user@host. */
export function remoteLabel(displayName: string | null | undefined, uri: string): string {
  const name = displayName?.trim();
  if (name) return name;
  return uri.replace(/^sips?:/i, '').replace(/[;?].*$/, '') || uri;
}
