// The window's settings view: close to tray, start at login, hotkeys (the shell that saves and
// takes them is src-tauri/src/window_settings.rs and hotkeys.rs; the e2e tests press the keys).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import WindowSettingsPanel from './WindowSettingsPanel.svelte';
import type { Hotkeys, WindowSettings, WindowSettingsView } from '../lib/types';

afterEach(() => cleanup());

const noKeys: Hotkeys = { answer: '', hang_up: '', mute: '', show_window: '' };
const viewOf = (settings: WindowSettings, over: Partial<WindowSettingsView> = {}): WindowSettingsView => ({
  settings,
  start_at_login: false,
  hotkey_problems: [],
  hotkeys_unavailable: null,
  ...over,
});
const initial = viewOf({ close_to_tray: true, check_for_updates: false, hotkeys: noKeys });

/** Settings kept the way the shell keeps them: what was saved last is what loads next. */
function kept(first: WindowSettingsView) {
  let now = first;
  const load = vi.fn(async () => now);
  const save = vi.fn(async (s: WindowSettings) => (now = viewOf(s)));
  return { load, save };
}

describe('close to tray', () => {
  it('shows the saved choice and saves a change', async () => {
    const { load, save } = kept(initial);
    const { getByLabelText } = render(WindowSettingsPanel, { load, save });
    const box = getByLabelText('Keep running in the tray when the window is closed') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    expect(box.checked).toBe(true);
    await fireEvent.click(box);
    await waitFor(() => expect(save).toHaveBeenCalledWith({ close_to_tray: false, check_for_updates: false, hotkeys: noKeys }));
    await waitFor(() => expect(box.checked).toBe(false));
  });

  it('says why a change cannot be saved and shows what is in effect', async () => {
    const save = vi.fn(async (): Promise<WindowSettingsView> => {
      throw 'cannot write /x/window.toml: permission denied';
    });
    const { getByLabelText, findByRole } = render(WindowSettingsPanel, { load: async () => initial, save });
    const box = getByLabelText('Keep running in the tray when the window is closed') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    await fireEvent.click(box);
    expect((await findByRole('alert')).textContent).toContain('permission denied');
    expect(box.checked).toBe(true);
  });

  it('keeps what another panel saved meanwhile (the updates switch)', async () => {
    const { load, save } = kept(initial);
    const { getByLabelText } = render(WindowSettingsPanel, { load, save });
    const box = getByLabelText('Keep running in the tray when the window is closed') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    // The updates panel switched checks on after this one loaded.
    await save({ ...initial.settings, check_for_updates: true });
    await fireEvent.click(box);
    await waitFor(() => expect(save).toHaveBeenLastCalledWith({ close_to_tray: false, check_for_updates: true, hotkeys: noKeys }));
  });
});

describe('start at login', () => {
  it('shows what the desktop has and changes it', async () => {
    const setStartAtLogin = vi.fn(async (on: boolean) => ({ ...initial, start_at_login: on }));
    const { getByLabelText } = render(WindowSettingsPanel, { load: async () => initial, setStartAtLogin });
    const box = getByLabelText('Start Hookflash in the tray when I log in') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    expect(box.checked).toBe(false);
    await fireEvent.click(box);
    expect(setStartAtLogin).toHaveBeenCalledWith(true);
    await waitFor(() => expect(box.checked).toBe(true));
  });
});

describe('hotkeys', () => {
  it('record the keys pressed in a field, show them readably and clear with Backspace', async () => {
    const { load, save } = kept(initial);
    const { getByLabelText } = render(WindowSettingsPanel, { load, save });
    const field = getByLabelText('Answer') as HTMLInputElement;
    await waitFor(() => expect(field.disabled).toBe(false));
    expect(field.value).toBe('');
    // A modifier alone saves nothing yet.
    await fireEvent.keyDown(field, { key: 'Control', code: 'ControlLeft', ctrlKey: true });
    expect(save).not.toHaveBeenCalled();
    await fireEvent.keyDown(field, { key: 'a', code: 'KeyA', ctrlKey: true, altKey: true });
    await waitFor(() =>
      expect(save).toHaveBeenCalledWith({ close_to_tray: true, check_for_updates: false, hotkeys: { ...noKeys, answer: 'Ctrl+Alt+KeyA' } }),
    );
    await waitFor(() => expect(field.value).toBe('Ctrl+Alt+A'));
    await fireEvent.keyDown(field, { key: 'Backspace', code: 'Backspace' });
    await waitFor(() => expect(save).toHaveBeenLastCalledWith({ close_to_tray: true, check_for_updates: false, hotkeys: noKeys }));
    await waitFor(() => expect(field.value).toBe(''));
  });

  it('say which keys another program holds and why keys were refused', async () => {
    const settings = { close_to_tray: true, check_for_updates: false, hotkeys: { ...noKeys, hang_up: 'Ctrl+Alt+KeyH' } };
    const load = async () =>
      viewOf(settings, {
        hotkey_problems: [{ hotkey: 'hang_up', shortcut: 'Ctrl+Alt+KeyH', kind: 'taken', detail: 'HotKey already registered' }],
      });
    const save = vi.fn(async (): Promise<WindowSettingsView> => {
      throw 'A for Mute would take that key from every program; add Ctrl, Alt or Super';
    });
    const { getByLabelText, findByTestId } = render(WindowSettingsPanel, { load, save });
    expect((await findByTestId('hotkey-hang_up-problem')).textContent).toBe(
      'Ctrl+Alt+H is taken by another program; press other keys.',
    );
    const hangUp = getByLabelText('Hang up (or decline)') as HTMLInputElement;
    expect(hangUp.value).toBe('Ctrl+Alt+H');
    expect(hangUp.getAttribute('aria-invalid')).toBe('true');
    const mute = getByLabelText('Mute or unmute') as HTMLInputElement;
    await fireEvent.keyDown(mute, { key: 'a', code: 'KeyA' });
    expect((await findByTestId('hotkey-mute-problem')).textContent).toContain('would take that key');
    expect(mute.value).toBe('');
  });

  it('point Wayland users at the desktop’s own shortcuts', async () => {
    const load = async () => ({ ...initial, hotkeys_unavailable: 'Wayland' });
    const { findByTestId } = render(WindowSettingsPanel, { load });
    expect((await findByTestId('hotkeys-unavailable')).textContent).toContain('hookflash-app answer');
  });
});
