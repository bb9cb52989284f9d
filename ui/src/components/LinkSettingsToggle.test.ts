import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import LinkSettingsToggle from './LinkSettingsToggle.svelte';
import LinkConfirmBar from './LinkConfirmBar.svelte';
import type { LinkSettings } from '../lib/types';

afterEach(() => cleanup());

describe('ask before calling a link', () => {
  it('shows the saved choice and saves a change', async () => {
    const save = vi.fn(async (v: LinkSettings) => v);
    const { getByLabelText } = render(LinkSettingsToggle, { load: async () => ({ ask_before_calling: true }), save });
    const box = getByLabelText('Ask before calling a link') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    expect(box.checked).toBe(true);
    await fireEvent.click(box);
    expect(save).toHaveBeenCalledWith({ ask_before_calling: false });
    await waitFor(() => expect(box.checked).toBe(false));
  });

  it('says why a change cannot be saved and shows what is in effect', async () => {
    const save = vi.fn(async () => {
      throw 'set up the account first: this setting is saved in its profile';
    });
    const { getByLabelText, findByRole } = render(LinkSettingsToggle, { load: async () => ({ ask_before_calling: true }), save });
    const box = getByLabelText('Ask before calling a link') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    await fireEvent.click(box);
    expect((await findByRole('alert')).textContent).toContain('set up the account first');
    expect(box.checked).toBe(true);
  });
});

describe('link confirm bar', () => {
  it('names the number and answers Call or Cancel', async () => {
    const onCall = vi.fn();
    const onCancel = vi.fn();
    const { getByRole, getByText } = render(LinkConfirmBar, { call: { target: '+4930123', label: '+49 30 123' }, onCall, onCancel });
    expect(getByRole('alertdialog').textContent).toContain('Call +49 30 123?');
    await fireEvent.click(getByText('Cancel'));
    expect(onCancel).toHaveBeenCalledOnce();
    expect(onCall).not.toHaveBeenCalled();
    await fireEvent.click(getByText('Call'));
    expect(onCall).toHaveBeenCalledOnce();
  });
});
