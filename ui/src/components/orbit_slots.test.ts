import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import OrbitSlots from './OrbitSlots.svelte';
import CallCard from './CallCard.svelte';
import type { CallView } from '../lib/state';
import type { ParkSlot } from '../lib/types';

afterEach(() => cleanup());

const slot = (over: Partial<ParkSlot> = {}): ParkSlot => ({
  slot: '701',
  uri: 'sip:701@pbx',
  occupied: false,
  parked_uri: null,
  parked_display: null,
  state: null,
  ...over,
});

describe('park orbit slots', () => {
  it('shows who is parked, free slots, and retrieves only occupied ones', async () => {
    const onRetrieve = vi.fn();
    const { getAllByTestId } = render(OrbitSlots, {
      slots: [
        slot({ occupied: true, parked_uri: 'sip:bob@pbx', parked_display: 'Bob', state: 'confirmed' }),
        slot({ slot: '702', uri: 'sip:702@pbx' }),
        slot({ slot: '703', occupied: true, parked_uri: 'sip:carol@pbx', state: 'early' }),
      ],
      onRetrieve,
    });
    const who = getAllByTestId('orbit-who').map((e) => e.textContent?.replace(/\s+/g, ' ').trim());
    expect(who).toEqual(['Bob', 'free', 'carol@pbx (early)']);
    const buttons = getAllByTestId('retrieve-button') as HTMLButtonElement[];
    expect(buttons.map((b) => b.disabled)).toEqual([false, true, false]);
    await fireEvent.click(buttons[0]);
    expect(onRetrieve).toHaveBeenCalledTimes(1);
    expect(onRetrieve).toHaveBeenCalledWith('701');
  });

  it('a parked party name is text, never HTML', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const { container } = render(OrbitSlots, {
      slots: [slot({ occupied: true, parked_uri: 'sip:x@pbx', parked_display: hostile })],
      onRetrieve: () => {},
    });
    expect(container.querySelector('img')).toBeNull();
    expect(container.textContent).toContain(hostile);
  });

  it('the call card offers "Park on orbit" only when the account has orbits', async () => {
    const call: CallView = {
      id: 4,
      direction: 'outgoing',
      state: 'answered',
      remote_uri: 'sip:bob@pbx',
      remote_display_name: 'Bob',
      codec: 'pcmu',
      muted: false,
      started_at_ms: 0,
      answered_at_ms: 1_000,
      active: true,
      parked_since_ms: null,
      held_by_remote: false,
      account: 'sip:alice@pbx',
      routing: null,
      encrypted: false,
      conference: false,
      conference_muted: false,
    };
    const base = { call, now: 5_000, onHangup: () => {}, onMute: () => {}, onDtmf: () => {}, onDismiss: () => {}, onPark: () => {} };
    const onParkOrbit = vi.fn();
    const without = render(CallCard, { ...base, onParkOrbit });
    expect(without.queryByTestId('park-orbit-select')).toBeNull();
    cleanup();
    const { getByTestId } = render(CallCard, { ...base, orbits: ['701', '702'], onParkOrbit });
    const select = getByTestId('park-orbit-select') as HTMLSelectElement;
    select.value = '702';
    await fireEvent.change(select);
    expect(onParkOrbit).toHaveBeenCalledWith('702');
    expect(select.value).toBe('');
  });
});
