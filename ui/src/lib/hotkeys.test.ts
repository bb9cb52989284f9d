import { afterEach, describe, expect, it } from 'vitest';
import { displayShortcut, keyInField, refusalText } from './hotkeys';
import { setLanguage } from './i18n.svelte';
import type { Hotkey, SettingsError } from './types';

const press = (code: string, key: string, mods: Partial<Record<'ctrlKey' | 'altKey' | 'shiftKey' | 'metaKey', boolean>> = {}) =>
  keyInField({ code, key, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...mods });

describe('hotkey fields', () => {
  it('record the modifiers and the key by its place on the keyboard', () => {
    expect(press('KeyA', 'a', { ctrlKey: true, altKey: true })).toEqual({ kind: 'record', shortcut: 'Ctrl+Alt+KeyA' });
    // A German layout's Z is still the key in KeyY's place.
    expect(press('KeyY', 'z', { ctrlKey: true })).toEqual({ kind: 'record', shortcut: 'Ctrl+KeyY' });
    expect(press('F9', 'F9')).toEqual({ kind: 'record', shortcut: 'F9' });
    expect(press('KeyM', 'M', { metaKey: true, shiftKey: true })).toEqual({ kind: 'record', shortcut: 'Shift+Super+KeyM' });
    // A letter alone is recorded too: the shell says why it will not take it.
    expect(press('KeyQ', 'q')).toEqual({ kind: 'record', shortcut: 'KeyQ' });
  });

  it('wait while only modifiers are held', () => {
    expect(press('ControlLeft', 'Control', { ctrlKey: true })).toEqual({ kind: 'wait' });
    expect(press('AltRight', 'AltGraph', { altKey: true })).toEqual({ kind: 'wait' });
    expect(press('ShiftLeft', 'Shift', { shiftKey: true })).toEqual({ kind: 'wait' });
  });

  it('leave Tab and Escape to the browser and clear with Backspace or Delete', () => {
    expect(press('Tab', 'Tab')).toEqual({ kind: 'pass' });
    expect(press('Tab', 'Tab', { shiftKey: true })).toEqual({ kind: 'pass' });
    expect(press('Escape', 'Escape')).toEqual({ kind: 'pass' });
    expect(press('Backspace', 'Backspace')).toEqual({ kind: 'clear' });
    expect(press('Delete', 'Delete')).toEqual({ kind: 'clear' });
    // With a modifier they are keys like any other.
    expect(press('Backspace', 'Backspace', { ctrlKey: true, altKey: true })).toEqual({ kind: 'record', shortcut: 'Ctrl+Alt+Backspace' });
    expect(press('Tab', 'Tab', { ctrlKey: true })).toEqual({ kind: 'record', shortcut: 'Ctrl+Tab' });
  });

  it('read as people write them', () => {
    expect(displayShortcut('Ctrl+Alt+KeyA')).toBe('Ctrl+Alt+A');
    expect(displayShortcut('Ctrl+Digit1')).toBe('Ctrl+1');
    expect(displayShortcut('Alt+F12')).toBe('Alt+F12');
    expect(displayShortcut('Ctrl+KeyboardLayout')).toBe('Ctrl+KeyboardLayout');
  });
});

describe('refusalText', () => {
  afterEach(() => setLanguage('system'));
  const names: Record<Hotkey, string> = { answer: 'Annehmen', hang_up: 'Auflegen', mute: 'Stumm', show_window: 'Fenster' };
  const twice: SettingsError = {
    message: 'Ctrl+Alt+A is set for both Answer and Mute',
    hotkey: { kind: 'twice', hotkey: 'mute', other: 'answer', shortcut: 'Ctrl+Alt+KeyA' },
  };

  it("keeps the shell's sentence in English", () => {
    setLanguage('en');
    expect(refusalText(twice, (h) => names[h])).toBe('Ctrl+Alt+A is set for both Answer and Mute');
  });

  it('words the refusal in the window language from its data', () => {
    setLanguage('de');
    expect(refusalText(twice, (h) => names[h])).toBe('Ctrl+Alt+A ist schon für „Annehmen“ belegt.');
    const plain: SettingsError = { message: 'Q for Answer would take…', hotkey: { kind: 'every_program', hotkey: 'answer', shortcut: 'KeyQ' } };
    expect(refusalText(plain, (h) => names[h])).toContain('Q würde diese Taste allen Programmen wegnehmen');
    setLanguage('es');
    const broken: SettingsError = { message: '…', hotkey: { kind: 'not_a_combination', hotkey: 'answer', text: 'Ctrl+Alt+' } };
    expect(refusalText(broken, (h) => names[h])).toContain('«Ctrl+Alt+» no es una combinación de teclas');
  });

  it('leaves other errors as they came', () => {
    setLanguage('de');
    expect(refusalText({ message: 'cannot write window.toml', hotkey: null }, (h) => names[h])).toBe('cannot write window.toml');
    expect(refusalText('plain text', (h) => names[h])).toBe('plain text');
  });
});
