// The navigation rail (the views and their shortcuts are lib/navigation.ts; the e2e tests move
// between the views in the real window, by mouse and by keyboard).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import NavRail from './NavRail.svelte';

afterEach(() => cleanup());

describe('navigation rail', () => {
  it('marks the open view, names each one with its shortcut and opens the one clicked', async () => {
    const onSelect = vi.fn();
    const { getByRole, getByTestId } = render(NavRail, { section: 'history', onSelect, calls: 0, settingsOnly: false });
    expect(getByRole('navigation', { name: 'Views' })).toBeTruthy();
    const history = getByRole('button', { name: 'History' });
    expect(history.getAttribute('aria-current')).toBe('page');
    expect(history.getAttribute('aria-keyshortcuts')).toBe('Control+2');
    expect(history.getAttribute('title')).toBe('History (Ctrl+2)');
    expect(getByRole('button', { name: 'Calls' }).getAttribute('aria-current')).toBeNull();
    await fireEvent.click(getByTestId('account-settings-button'));
    expect(onSelect).toHaveBeenCalledWith('settings');
  });

  it('counts the calls going on while another view is open', () => {
    const { getByTestId, queryByTestId, unmount } = render(NavRail, { section: 'settings', onSelect: () => {}, calls: 2, settingsOnly: false });
    expect(getByTestId('nav-calls-count').textContent).toBe('2 calls going on');
    unmount();
    render(NavRail, { section: 'calls', onSelect: () => {}, calls: 2, settingsOnly: false });
    expect(queryByTestId('nav-calls-count')).toBeNull();
  });

  it('offers only the settings until there is an account', () => {
    const { getByRole } = render(NavRail, { section: 'settings', onSelect: () => {}, calls: 0, settingsOnly: true });
    expect((getByRole('button', { name: 'Calls' }) as HTMLButtonElement).disabled).toBe(true);
    expect((getByRole('button', { name: 'Settings' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows ⌘ shortcuts on a Mac', () => {
    const { getByRole } = render(NavRail, { section: 'calls', onSelect: () => {}, calls: 0, settingsOnly: false, mac: true });
    const calls = getByRole('button', { name: 'Calls' });
    expect(calls.getAttribute('aria-keyshortcuts')).toBe('Meta+1');
    expect(calls.getAttribute('title')).toBe('Calls (⌘1)');
  });
});
