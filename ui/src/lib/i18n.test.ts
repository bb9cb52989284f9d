// The languages: every message in every language with the same placeholders, the locale chosen
// from the system's languages or the user's choice, and English for a message a language lacks.

import { afterEach, describe, expect, it } from 'vitest';
import { LANGUAGE_KEY, formattingTag, getLocale, locales, m, pickLocale, setLanguage } from './i18n.svelte';
import * as messages from '../paraglide/messages.js';

const files = import.meta.glob<Record<string, string>>('../../messages/*.json', { eager: true, import: 'default' });
const catalog = (locale: string): Record<string, string> => {
  const file = files[`../../messages/${locale}.json`];
  if (!file) throw new Error(`messages/${locale}.json is missing`);
  const { $schema: _, ...entries } = file;
  return entries;
};
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

afterEach(() => setLanguage('system'));

describe('message catalogues', () => {
  const en = catalog('en');

  it('has a file for each locale of the project and no other', () => {
    const names = Object.keys(files).map((f) => f.replace(/^.*\/(\w+)\.json$/, '$1'));
    expect(names.sort()).toEqual([...locales].sort());
  });

  for (const locale of locales.filter((l) => l !== 'en')) {
    it(`${locale} has every English message, with the same placeholders, and nothing else`, () => {
      const other = catalog(locale);
      const missing = Object.keys(en).filter((key) => !(key in other));
      const extra = Object.keys(other).filter((key) => !(key in en));
      expect(missing, `missing in ${locale}.json`).toEqual([]);
      expect(extra, `in ${locale}.json but not in en.json`).toEqual([]);
      for (const key of Object.keys(en)) {
        expect(placeholders(other[key]), `${locale}.json ${key}`).toEqual(placeholders(en[key]));
        // Only the words around a highlighted part may be empty (word order differs by language).
        if (!/_(before|middle|after)$/.test(key)) expect(other[key].trim(), `${locale}.json ${key} is empty`).not.toBe('');
      }
    });
  }

  it('every message compiles for every locale to text, never to its key', () => {
    const fns = messages as unknown as Record<string, (inputs: Record<string, string>, options: { locale: string }) => string>;
    for (const key of Object.keys(en)) {
      const inputs = Object.fromEntries(placeholders(en[key]).map((p) => [p, `<${p}>`]));
      for (const locale of locales) {
        const text = fns[key](inputs, { locale });
        expect(typeof text).toBe('string');
        if (en[key].trim() !== '') expect(text, `${locale} ${key}`).not.toBe(key);
        expect(text).not.toMatch(/undefined/);
      }
    }
  });
});

describe('choosing the locale', () => {
  it('takes the first system language we have, by its base tag', () => {
    expect(pickLocale(['de-AT', 'en-US'])).toBe('de');
    expect(pickLocale(['fr-FR', 'es-MX', 'de'])).toBe('es');
    expect(pickLocale(['es_ES'])).toBe('es');
    expect(pickLocale(['en-GB', 'de'])).toBe('en');
  });

  it('falls back to English for languages we do not have', () => {
    expect(pickLocale(['fr-FR', 'ja'])).toBe('en');
    expect(pickLocale([])).toBe('en');
  });

  it('formats with the regional tag of the chosen language when the system has one', () => {
    expect(formattingTag('de', ['de-CH', 'en-US'])).toBe('de-CH');
    expect(formattingTag('de', ['en-US'])).toBe('de');
    expect(formattingTag('en', ['en-GB'])).toBe('en-GB');
  });

  it('is English under the test environment (as for the e2e tests of the window)', () => {
    expect(getLocale()).toBe('en');
    expect(m.hang_up()).toBe('Hang up');
  });

  it('follows and remembers the user choice, and goes back to the system language', () => {
    setLanguage('de');
    expect(getLocale()).toBe('de');
    expect(m.hang_up()).toBe('Auflegen');
    expect(localStorage.getItem(LANGUAGE_KEY)).toBe('de');
    setLanguage('es');
    expect(m.hang_up()).toBe('Colgar');
    setLanguage('system');
    expect(getLocale()).toBe('en');
    expect(localStorage.getItem(LANGUAGE_KEY)).toBeNull();
  });
});
