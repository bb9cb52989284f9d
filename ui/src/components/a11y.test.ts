// Keyboard and screen-reader behaviour of the views: live-region announcements, keys on rows,
// names of controls that show only a symbol.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import LiveAnnouncer from './LiveAnnouncer.svelte';
import ParkedList from './ParkedList.svelte';
import IncomingCard from './IncomingCard.svelte';
import CallCard from './CallCard.svelte';
import Keypad from './Keypad.svelte';
import type { CallView } from '../lib/state';
import { callView } from '../lib/test_calls';

const call = (over: Partial<CallView> = {}): CallView =>
  callView({ direction: 'incoming', state: 'ringing', answered_at_ms: null, ...over });
const noop = () => {};

afterEach(() => cleanup());

describe('live announcements', () => {
  it('an incoming call goes to the assertive region, state changes to the polite one', async () => {
    const { getByTestId, rerender } = render(LiveAnnouncer, { calls: { 1: call() } });
    const polite = getByTestId('live-polite');
    const assertive = getByTestId('live-assertive');
    expect(assertive.getAttribute('aria-live')).toBe('assertive');
    expect(polite.getAttribute('aria-live')).toBe('polite');
    expect(assertive.textContent).toBe('Incoming call from Bob');
    expect(polite.textContent).toBe('');

    await rerender({ calls: { 1: call({ state: 'answered' }) } });
    expect(polite.textContent).toBe('Connected to Bob');
    await rerender({ calls: { 1: call({ state: 'answered', parked_since_ms: 10 }) } });
    expect(polite.textContent).toBe('Bob is parked');
    await rerender({ calls: { 1: call({ state: 'ended', endedMessage: 'Bob hung up' }) } });
    expect(polite.textContent).toBe('Call ended: Bob hung up');
  });

  it('the same sentence again is cleared and put back, so it is read again', async () => {
    vi.useFakeTimers();
    try {
      const { getByTestId, rerender } = render(LiveAnnouncer, { calls: { 1: call() } });
      const assertive = getByTestId('live-assertive');
      await rerender({ calls: {} });
      await rerender({ calls: { 2: call({ id: 2 }) } });
      expect(assertive.textContent).toBe('');
      await vi.advanceTimersByTimeAsync(150);
      expect(assertive.textContent).toBe('Incoming call from Bob');
    } finally {
      vi.useRealTimers();
    }
  });

  it('the incoming card is not a live region itself (its timer would be read every second)', () => {
    const { getByTestId } = render(IncomingCard, { call: call(), now: 0, onAnswer: noop, onDecline: noop });
    expect(getByTestId('incoming-card').getAttribute('aria-live')).toBeNull();
  });
});

describe('keyboard', () => {
  it('Enter on a parked row switches; Enter on its buttons does what the button says', async () => {
    const onSwitch = vi.fn();
    const onHangup = vi.fn();
    const { getByTestId, getByRole } = render(ParkedList, {
      calls: [call({ state: 'answered', parked_since_ms: 0 })],
      now: 1_000,
      recallMs: 60_000,
      onSwitch,
      onHangup,
    });
    const hangup = getByRole('button', { name: 'Hang up parked call' });
    // Enter on a button: the row must not take it (preventDefault would swallow the click).
    const notTaken = await fireEvent.keyDown(hangup, { key: 'Enter' });
    expect(notTaken).toBe(true);
    expect(onSwitch).not.toHaveBeenCalled();
    await fireEvent.keyDown(getByTestId('parked-call'), { key: 'Enter' });
    expect(onSwitch).toHaveBeenCalledWith(1);
  });

  it('parked rows are a list of items, not options holding buttons', () => {
    const { getByTestId } = render(ParkedList, {
      calls: [call({ state: 'answered', parked_since_ms: 0 })],
      now: 1_000,
      recallMs: 60_000,
      onSwitch: noop,
      onHangup: noop,
    });
    const row = getByTestId('parked-call');
    expect(row.tagName).toBe('LI');
    expect(row.getAttribute('role')).toBeNull();
    expect(row.closest('ul')?.getAttribute('role')).toBeNull();
    expect(row.getAttribute('tabindex')).toBe('0');
  });

  it('a call card can take focus (where focus goes when its Answer or Park button is gone)', () => {
    const { getByTestId } = render(CallCard, {
      call: call({ state: 'answered' }),
      now: 0,
      onHangup: noop,
      onMute: noop,
      onDtmf: noop,
      onDismiss: noop,
    });
    const card = getByTestId('call-card');
    expect(card.getAttribute('tabindex')).toBe('-1');
    expect(card.getAttribute('data-call-id')).toBe('1');
    card.focus();
    expect(document.activeElement).toBe(card);
  });
});

describe('names', () => {
  it('a key is named by the digit it shows (not "2 ABC", not an aria-label that differs), * and # in words', () => {
    const { getByRole, getByTestId } = render(Keypad, { testidPrefix: 'k', label: 'Dial pad', onKey: noop });
    expect(getByRole('button', { name: '2' })).toBe(getByTestId('k-2'));
    expect(getByTestId('k-2').getAttribute('aria-label')).toBeNull();
    expect(getByTestId('k-star').getAttribute('aria-label')).toBe('star');
    expect(getByRole('group', { name: 'Dial pad' })).toBeTruthy();
  });
});
