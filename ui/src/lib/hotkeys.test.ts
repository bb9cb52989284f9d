import { describe, expect, it } from 'vitest';
import { displayShortcut, keyInField } from './hotkeys';

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
