// Global hotkeys as the settings view records and shows them (the shell checks and takes them:
// src-tauri/src/hotkeys.rs). A combination is written `Ctrl+Alt+KeyA`: modifiers, then one key
// named by its `KeyboardEvent.code` (the key's place on the keyboard, the same whatever the
// layout), which is what the shell reads.

import { baseLocale, getLocale, m } from './i18n.svelte';
import { errorMessage } from './phone';
import type { Hotkey, SettingsError } from './types';

/** The four hotkeys, in the order the settings list them. */
export const HOTKEYS: readonly Hotkey[] = ['answer', 'hang_up', 'mute', 'show_window'];

/** What a key pressed in a hotkey field does. */
export type KeyInField =
  | { kind: 'record'; shortcut: string }
  | { kind: 'clear' }
  /** Left to the browser (Tab moves on, Escape leaves): the field stays keyboard-friendly. */
  | { kind: 'pass' }
  /** A modifier alone so far: wait for the key. */
  | { kind: 'wait' };

interface Pressed {
  code: string;
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
}

const MODIFIER_CODES = /^(Control|Alt|Shift|Meta|OS|Super|Hyper)(Left|Right)?$|^(CapsLock|NumLock|Fn|FnLock|AltGraph)$/;

/** What pressing `event` in a hotkey field means. */
export function keyInField(event: Pressed): KeyInField {
  const mods = [event.ctrlKey && 'Ctrl', event.altKey && 'Alt', event.shiftKey && 'Shift', event.metaKey && 'Super'].filter(
    (x): x is string => !!x,
  );
  const plain = mods.length === 0;
  if (plain && (event.key === 'Tab' || event.key === 'Escape')) return { kind: 'pass' };
  if (event.shiftKey && mods.length === 1 && event.key === 'Tab') return { kind: 'pass' };
  if (plain && (event.key === 'Backspace' || event.key === 'Delete')) return { kind: 'clear' };
  if (!event.code || MODIFIER_CODES.test(event.code) || MODIFIER_CODES.test(event.key)) return { kind: 'wait' };
  return { kind: 'record', shortcut: [...mods, event.code].join('+') };
}

/** How a combination reads: `Ctrl+Alt+KeyA` → `Ctrl+Alt+A`, `Digit1` → `1`. */
export function displayShortcut(shortcut: string): string {
  return shortcut
    .split('+')
    .map((part) => part.replace(/^(Key|Digit)(.)$/, '$2'))
    .join('+');
}

/**
 * Why the shell would not save a hotkey, in the window's language: the shell's English sentence
 * in English, else written here from the refusal it sends as data (`hotkeyName` names the hotkeys
 * as the settings do). Any other error keeps its own sentence.
 */
export function refusalText(error: unknown, hotkeyName: (hotkey: Hotkey) => string): string {
  const refusal = (error as Partial<SettingsError> | null)?.hotkey;
  if (!refusal || getLocale() === baseLocale) return errorMessage(error);
  switch (refusal.kind) {
    case 'not_a_combination':
      return m.hotkey_not_a_combination({ text: refusal.text });
    case 'every_program':
      return m.hotkey_every_program({ shortcut: displayShortcut(refusal.shortcut) });
    case 'twice':
      return m.hotkey_twice({ shortcut: displayShortcut(refusal.shortcut), other: hotkeyName(refusal.other) });
    default:
      return errorMessage(error);
  }
}
