// Turning what the user typed or pasted into a dial target.

/** Characters that only decorate a phone number: spaces, dashes, dots, slashes, parentheses. */
const DECORATION = /[\s\-./()\u00a0\u2010-\u2015\u2212]/g;
/** Invisible marks that come along when copying numbers from web pages and documents. */
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060\ufeff]/g;
/** What a phone number may be made of, decoration included. */
const NUMBERISH = /^\+?[0-9*#\s\-./()\u00a0\u2010-\u2015\u2212]+$/;

/**
 * Normalises a dial string:
 * - a phone number (`+1 (555) 123-4567`, `tel:+44 20 7946 0018`) keeps only its leading `+`,
 *   digits, `*` and `#`;
 * - anything else (a SIP URI, `bob@example.com`, an extension name) is only trimmed,
 *   with surrounding `<...>` removed.
 */
export function normalizeDialString(input: string): string {
  let text = input.replace(INVISIBLE, '').trim();
  if (text.startsWith('<') && text.endsWith('>')) text = text.slice(1, -1).trim();
  const withoutTel = text.replace(/^tel:/i, '');
  if (NUMBERISH.test(withoutTel)) {
    const plus = withoutTel.startsWith('+') ? '+' : '';
    return plus + withoutTel.replace(DECORATION, '').replace(/\+/g, '');
  }
  return text;
}

/** Keys of the dial pad and the DTMF pad, in layout order. */
export const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;
export type Key = (typeof KEYS)[number];

/** The `data-testid` suffix of a key: digits as is, `star`, `hash`. */
export function keyName(key: string): string {
  return key === '*' ? 'star' : key === '#' ? 'hash' : key;
}

/** Letters printed under a key, as on a telephone. */
export const KEY_LETTERS: Record<string, string> = {
  '2': 'ABC', '3': 'DEF', '4': 'GHI', '5': 'JKL', '6': 'MNO', '7': 'PQRS', '8': 'TUV', '9': 'WXYZ', '0': '+',
};

/**
 * The DTMF digit a key press means during a call, or null: digits, `*` and `#` typed while
 * the focus is not in a text field (where they are typing, not tones).
 */
export function dtmfKeyFor(key: string, targetTag: string | undefined, modifiers = false): string | null {
  if (modifiers) return null;
  const tag = (targetTag ?? '').toUpperCase();
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return null;
  return /^[0-9*#]$/.test(key) ? key : null;
}
