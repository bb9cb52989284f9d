// The window's language: the messages compiled by paraglide-js from ui/messages/*.json (English is
// the source; a message missing in another language falls back to English at compile time, never
// to its key), the locale chosen from the system's languages (navigator.languages) unless the user
// picked one in the settings (kept in localStorage), and the locale Intl formats numbers and dates
// with. Views import `m` from here, not from ../paraglide, so that the locale is always the one
// this module decides.

import { baseLocale, locales, overwriteGetLocale, type Locale } from '../paraglide/runtime.js';

export { m } from '../paraglide/messages.js';
export { locales, baseLocale, type Locale };

/** The user's choice in the settings: a language, or `system` (follow the system's languages). */
export type LanguageChoice = 'system' | Locale;

/** Where the choice is kept (the window's localStorage; it is a preference of this window only). */
export const LANGUAGE_KEY = 'hookflash.language';

/** Each language named in itself, for the settings' picker. */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', de: 'Deutsch', es: 'Español' };

const isLocale = (value: unknown): value is Locale => typeof value === 'string' && (locales as readonly string[]).includes(value);

/** The first of `preferred` (BCP 47 tags, most wanted first) that we have, else English. */
export function pickLocale(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split(/[-_]/)[0];
    if (isLocale(base)) return base;
  }
  return baseLocale;
}

/**
 * The tag Intl formats with for `locale`: the first system language of that language (so a
 * German speaker in Austria gets de-AT's dates), else the locale itself.
 */
export function formattingTag(locale: Locale, preferred: readonly string[]): string {
  return preferred.find((tag) => tag.toLowerCase().split(/[-_]/)[0] === locale) ?? locale;
}

function systemLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return [];
  if (navigator.languages?.length) return navigator.languages;
  return navigator.language ? [navigator.language] : [];
}

function storedChoice(): LanguageChoice {
  try {
    const value = globalThis.localStorage?.getItem(LANGUAGE_KEY);
    return isLocale(value) ? value : 'system';
  } catch {
    return 'system';
  }
}

function resolve(choice: LanguageChoice): Locale {
  return choice === 'system' ? pickLocale(systemLanguages()) : choice;
}

// Reactive: a view that calls a message or a formatter re-renders when the language changes.
const current = $state({ choice: 'system' as LanguageChoice, locale: baseLocale as Locale });
current.choice = storedChoice();
current.locale = resolve(current.choice);

overwriteGetLocale(() => current.locale);

/** The locale messages are shown in now. */
export function getLocale(): Locale {
  return current.locale;
}

/** The user's choice (`system` unless they picked a language). */
export function getLanguageChoice(): LanguageChoice {
  return current.choice;
}

/** The tag Intl formats numbers, dates and times with now. */
export function intlLocale(): string {
  return formattingTag(current.locale, systemLanguages());
}

/** Switches the window's language at once (no reload) and remembers the choice. */
export function setLanguage(choice: LanguageChoice): void {
  current.choice = choice;
  current.locale = resolve(choice);
  try {
    if (choice === 'system') globalThis.localStorage?.removeItem(LANGUAGE_KEY);
    else globalThis.localStorage?.setItem(LANGUAGE_KEY, choice);
  } catch {
    // No storage (private mode): the choice lasts until the window closes.
  }
  if (typeof document !== 'undefined') document.documentElement.lang = current.locale;
}

if (typeof document !== 'undefined') document.documentElement.lang = current.locale;
