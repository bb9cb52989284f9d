// The updates panel: the switch (kept with the other window settings), the status the shell sends
// (src-tauri/src/updates.rs), Check now, Install and Restart. The e2e test runs it against a
// served, signed manifest.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import UpdatesPanel from './UpdatesPanel.svelte';
import type { UpdateStatus, WindowSettings, WindowSettingsView } from '../lib/types';

afterEach(() => cleanup());

const view = (settings: WindowSettings): WindowSettingsView => ({
  settings,
  start_at_login: false,
  hotkey_problems: [],
  hotkeys_unavailable: null,
});
const keys = { answer: 'Ctrl+Alt+KeyA', hang_up: '', mute: '', show_window: '' };

function shell(first: UpdateStatus, settings: Partial<WindowSettings> = {}) {
  let saved = view({ close_to_tray: false, check_for_updates: false, hotkeys: keys, ...settings });
  let push: (s: UpdateStatus) => void = () => {};
  return {
    load: vi.fn(async () => saved),
    save: vi.fn(async (s: WindowSettings) => (saved = view(s))),
    getStatus: vi.fn(async () => first),
    check: vi.fn(async (): Promise<UpdateStatus> => ({ state: 'checking' })),
    install: vi.fn(async (): Promise<UpdateStatus> => ({ state: 'installing', version: '0.2.0', percent: null })),
    restart: vi.fn(async () => {}),
    onUpdate: vi.fn(async (handler: (s: UpdateStatus) => void) => {
      push = handler;
      return () => {};
    }),
    send: (s: UpdateStatus) => push(s),
  };
}

describe('updates', () => {
  it('are off until switched on; switching keeps the other window settings', async () => {
    const s = shell({ state: 'off' });
    const { getByLabelText, getByTestId } = render(UpdatesPanel, s);
    const box = getByLabelText('Check for updates') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    expect(box.checked).toBe(false);
    expect(getByTestId('update-status').textContent?.trim()).toBe('Not checked automatically.');
    await fireEvent.click(box);
    await waitFor(() => expect(s.save).toHaveBeenCalledWith({ close_to_tray: false, check_for_updates: true, hotkeys: keys }));
    await waitFor(() => expect(box.checked).toBe(true));
  });

  it('follow the shell: checking, a release with its notes, installing with progress, installed', async () => {
    const s = shell({ state: 'waiting' }, { check_for_updates: true });
    const { getByTestId, queryByTestId, findByTestId } = render(UpdatesPanel, s);
    await waitFor(() => expect(getByTestId('update-status').textContent?.trim()).toBe('The first check comes shortly.'));
    s.send({ state: 'checking' });
    await waitFor(() => expect(getByTestId('update-status').textContent?.trim()).toBe('Checking for updates…'));
    expect((getByTestId('update-check') as HTMLButtonElement).disabled).toBe(true);
    s.send({ state: 'available', version: '0.2.0', notes: 'Transfers remember the last target.' });
    const install = await findByTestId('update-install');
    expect(install.textContent).toBe('Install 0.2.0');
    expect(getByTestId('update-notes').textContent).toBe('Transfers remember the last target.');
    await fireEvent.click(install);
    expect(s.install).toHaveBeenCalled();
    await waitFor(() => expect(getByTestId('update-status').textContent?.trim()).toBe('Installing Hookflash 0.2.0…'));
    s.send({ state: 'installing', version: '0.2.0', percent: 42 });
    await waitFor(() => expect(getByTestId('update-status').textContent?.trim()).toBe('Downloading Hookflash 0.2.0: 42 %'));
    expect(queryByTestId('update-install')).toBeNull();
    s.send({ state: 'installed', version: '0.2.0' });
    await fireEvent.click(await findByTestId('update-restart'));
    expect(s.restart).toHaveBeenCalled();
  });

  it('show a failure as the shell words it, and Check now asks again', async () => {
    const message = "the download of Hookflash 0.2.0 does not carry Hookflash's signature: nothing was installed";
    const s = shell({ state: 'failed', message });
    const { getByTestId } = render(UpdatesPanel, s);
    await waitFor(() => expect(getByTestId('update-status').textContent?.trim()).toBe(message));
    expect(getByTestId('update-status').getAttribute('data-state')).toBe('failed');
    await fireEvent.click(getByTestId('update-check'));
    expect(s.check).toHaveBeenCalled();
    await waitFor(() => expect(getByTestId('update-status').textContent?.trim()).toBe('Checking for updates…'));
  });

  it('say why the switch could not be saved and leave it as it was', async () => {
    const s = shell({ state: 'off' });
    s.save.mockImplementation(async () => {
      throw 'cannot write /x/window.toml: permission denied';
    });
    const { getByLabelText, findByRole } = render(UpdatesPanel, s);
    const box = getByLabelText('Check for updates') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    await fireEvent.click(box);
    expect((await findByRole('alert')).textContent).toContain('permission denied');
    expect(box.checked).toBe(false);
  });
});
