import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import VoiceProcessingToggle from './VoiceProcessingToggle.svelte';
import type { VoiceProcessing } from '../lib/types';

afterEach(() => cleanup());

const all = (on: boolean): VoiceProcessing => ({ echo_cancellation: on, noise_suppression: on, gain_control: on });

describe('voice processing switch', () => {
  it('shows what is in effect and switches all parts together', async () => {
    const save = vi.fn(async (v: VoiceProcessing) => v);
    const { getByLabelText } = render(VoiceProcessingToggle, { load: async () => all(true), save });
    const box = getByLabelText('Echo cancellation and noise suppression') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    expect(box.checked).toBe(true);
    await fireEvent.click(box);
    expect(save).toHaveBeenCalledWith(all(false));
    await waitFor(() => expect(box.checked).toBe(false));
  });

  it('says why when the setting cannot be saved', async () => {
    const save = vi.fn(async () => {
      throw 'set up the account first: this setting is saved in its profile';
    });
    const { getByLabelText, findByRole } = render(VoiceProcessingToggle, { load: async () => all(true), save });
    const box = getByLabelText('Echo cancellation and noise suppression') as HTMLInputElement;
    await waitFor(() => expect(box.disabled).toBe(false));
    await fireEvent.click(box);
    expect((await findByRole('alert')).textContent).toContain('set up the account first');
  });
});
