// The window's views and how the user moves between them: the navigation rail (and, in a narrow
// window, the tab row) lists them; Ctrl+1…4 (⌘ on macOS) and Ctrl+, open them from anywhere in
// the window; the last one is opened again at the next start. Plain functions: App.svelte does
// the showing.

/** The views, in the rail's order. Directory and messages join here when they are built. */
export type Section = 'calls' | 'history' | 'routing' | 'settings';
export const SECTIONS: readonly Section[] = ['calls', 'history', 'routing', 'settings'];

/** Where the last view is kept (the window's localStorage). */
export const SECTION_KEY = 'hookflash.section';

interface Pressed {
  key: string;
  code?: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

/** Whether this is a Mac, where the shortcuts use ⌘ instead of Ctrl. */
export function isMac(platform: string | undefined): boolean {
  return /mac|iphone|ipad/i.test(platform ?? '');
}

/** The view a key press opens (Ctrl+1…4, Ctrl+,; ⌘ on a Mac), or null. */
export function sectionForKey(event: Pressed, mac = false): Section | null {
  const command = mac ? event.metaKey && !event.ctrlKey : event.ctrlKey && !event.metaKey;
  if (!command || event.altKey || event.shiftKey) return null;
  if (event.key === ',') return 'settings';
  // By the key's place, so Ctrl+1 is Ctrl+1 on layouts whose digit row needs Shift (AZERTY).
  const digit = event.code?.match(/^(?:Digit|Numpad)([1-9])$/)?.[1] ?? (/^[1-9]$/.test(event.key) ? event.key : null);
  if (digit === null) return null;
  return SECTIONS[Number(digit) - 1] ?? null;
}

/** The shortcut of a view, as the rail shows it. */
export function shortcutOf(section: Section, mac = false): string {
  return `${mac ? '⌘' : 'Ctrl+'}${SECTIONS.indexOf(section) + 1}`;
}

/** The view to open at start: the one kept, else calls. */
export function storedSection(value: string | null | undefined): Section {
  return SECTIONS.find((s) => s === value) ?? 'calls';
}

/** Reads the kept view (none where storage is off). */
export function loadSection(): Section {
  try {
    return storedSection(globalThis.localStorage?.getItem(SECTION_KEY));
  } catch {
    return 'calls';
  }
}

/** Keeps the view for the next start. */
export function saveSection(section: Section): void {
  try {
    globalThis.localStorage?.setItem(SECTION_KEY, section);
  } catch {
    // Storage off: the next start opens the calls.
  }
}
