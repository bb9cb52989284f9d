import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import SettingsForm from './SettingsForm.svelte';
import type { AccountConfig, AccountForm } from '../lib/types';

afterEach(() => cleanup());

const account = (transfer_requests: AccountConfig['transfer_requests']): AccountConfig => ({
  aor: 'sip:alice@example.com',
  display_name: null,
  auth_user: null,
  registrar: null,
  outbound_proxy: null,
  transport: null,
  expires: 600,
  listen: null,
  tls_ca_file: null,
  register: false,
  media_encryption: 'none',
  require_encryption: false,
  ice: false,
  transfer_requests,
});

describe('account settings: transfer requests', () => {
  it('shows the account’s policy and saves the one chosen', async () => {
    const onSave = vi.fn(async (_form: AccountForm, _password: string | null) => {});
    const { getByLabelText, getByRole } = render(SettingsForm, { account: account('ask'), profilePath: null, onSave });
    const select = getByLabelText('Transfer requests') as HTMLSelectElement;
    expect(select.value).toBe('ask');
    expect([...select.options].map((o) => o.value)).toEqual(['accept', 'ask', 'refuse']);
    await fireEvent.change(select, { target: { value: 'refuse' } });
    await fireEvent.click(getByRole('button', { name: /save/i }));
    expect(onSave).toHaveBeenCalledOnce();
    expect(onSave.mock.calls[0][0].transfer_requests).toBe('refuse');
  });

  it('starts at accept for a new account', async () => {
    const onSave = vi.fn(async (_form: AccountForm, _password: string | null) => {});
    const { getByLabelText, getByRole } = render(SettingsForm, { account: null, profilePath: null, onSave });
    expect((getByLabelText('Transfer requests') as HTMLSelectElement).value).toBe('accept');
    await fireEvent.input(getByLabelText('SIP address'), { target: { value: 'sip:bob@example.com' } });
    await fireEvent.click(getByRole('button', { name: /save/i }));
    expect(onSave.mock.calls[0][0].transfer_requests).toBe('accept');
  });
});
