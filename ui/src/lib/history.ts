// Finding a call in the history view: the rows whose name or address holds what was typed,
// letters in any case; a number typed with spaces or dashes finds it written without them.

import type { HistoryEntry } from './types';

const digitsOf = (text: string) => text.replace(/\D/g, '');

/** The entries `text` finds (all of them for blank text), in their order. */
export function filterHistory(entries: HistoryEntry[], text: string): HistoryEntry[] {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return entries;
  const digits = digitsOf(wanted);
  const numberOnly = /^[\d\s()+\-./]+$/.test(wanted) && digits.length > 0;
  return entries.filter((entry) => {
    const words = `${entry.remote_display_name ?? ''} ${entry.remote_uri}`.toLowerCase();
    if (words.includes(wanted)) return true;
    return numberOnly && digitsOf(entry.remote_uri).includes(digits);
  });
}
