import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import AvailabilityControl from './AvailabilityControl.svelte';
import type { Availability } from '../lib/types';

afterEach(() => cleanup());

describe('presence and do-not-disturb', () => {
  it('shows what is in effect and asks the engine for the change', async () => {
    const save = vi.fn(async (a: Availability) => a);
    const { getByTestId } = render(AvailabilityControl, {
      availability: { presence: 'available', dnd: false },
      save,
      onError: () => {},
    });
    const dnd = getByTestId('dnd');
    const presence = getByTestId('presence') as HTMLSelectElement;
    expect(dnd.getAttribute('aria-pressed')).toBe('false');
    expect(presence.value).toBe('available');
    await fireEvent.click(dnd);
    expect(save).toHaveBeenCalledWith({ presence: 'available', dnd: true });
    await fireEvent.change(presence, { target: { value: 'away' } });
    expect(save).toHaveBeenLastCalledWith({ presence: 'away', dnd: false });
  });

  it('shows DND as pressed when it is on', () => {
    const { getByTestId } = render(AvailabilityControl, {
      availability: { presence: 'busy', dnd: true },
      save: async (a: Availability) => a,
      onError: () => {},
    });
    expect(getByTestId('dnd').getAttribute('aria-pressed')).toBe('true');
    expect(getByTestId('dnd').textContent).toContain('on');
    expect((getByTestId('presence') as HTMLSelectElement).value).toBe('busy');
  });

  it('says why when the change fails', async () => {
    const onError = vi.fn();
    const { getByTestId } = render(AvailabilityControl, {
      availability: { presence: 'available', dnd: false },
      save: async () => {
        throw 'no account is set up yet; fill in the account settings first';
      },
      onError,
    });
    await fireEvent.click(getByTestId('dnd'));
    await waitFor(() => expect(onError).toHaveBeenCalled());
    expect(onError.mock.calls[0][0]).toContain('no account is set up yet');
  });
});
