import { describe, expect, it } from 'vitest';
import { isMac, sectionForKey, shortcutOf, storedSection } from './navigation';

const key = (k: string, over: Partial<{ code: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }> = {}) => ({
  key: k,
  ctrlKey: true,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  ...over,
});

describe('navigation', () => {
  it('opens the views with Ctrl and a digit, settings with Ctrl+comma too', () => {
    expect(sectionForKey(key('1', { code: 'Digit1' }))).toBe('calls');
    expect(sectionForKey(key('2', { code: 'Digit2' }))).toBe('history');
    expect(sectionForKey(key('3', { code: 'Numpad3' }))).toBe('routing');
    expect(sectionForKey(key('4'))).toBe('settings');
    expect(sectionForKey(key(','))).toBe('settings');
    // AZERTY: the digit row gives & without Shift; the key's place still counts.
    expect(sectionForKey(key('&', { code: 'Digit1' }))).toBe('calls');
  });

  it('leaves other keys alone: digits are DTMF and typing', () => {
    expect(sectionForKey(key('1', { ctrlKey: false }))).toBeNull();
    expect(sectionForKey(key('5', { code: 'Digit5' }))).toBeNull();
    expect(sectionForKey(key('1', { code: 'Digit1', altKey: true }))).toBeNull();
    expect(sectionForKey(key('!', { code: 'Digit1', shiftKey: true }))).toBeNull();
    expect(sectionForKey(key('a', { code: 'KeyA' }))).toBeNull();
  });

  it('uses ⌘ on a Mac', () => {
    expect(isMac('MacIntel')).toBe(true);
    expect(isMac('Linux x86_64')).toBe(false);
    expect(sectionForKey(key('2', { code: 'Digit2', ctrlKey: false, metaKey: true }), true)).toBe('history');
    expect(sectionForKey(key('2', { code: 'Digit2' }), true)).toBeNull();
    expect(shortcutOf('history', true)).toBe('⌘2');
    expect(shortcutOf('settings')).toBe('Ctrl+4');
  });

  it('opens the last view again, the calls when none or an unknown one was kept', () => {
    expect(storedSection('history')).toBe('history');
    expect(storedSection(null)).toBe('calls');
    expect(storedSection('directory')).toBe('calls');
  });
});
