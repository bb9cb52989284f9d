// The window in German and Spanish: components rendered with the language switched show the
// translated words, numbers and dates in that language's way, and the engine's sentences that
// come with data are written in it too.

import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import CallCard from './CallCard.svelte';
import HistoryList from './HistoryList.svelte';
import IncomingCard from './IncomingCard.svelte';
import LanguagePicker from './LanguagePicker.svelte';
import TransferRequestBar from './TransferRequestBar.svelte';
import { getLocale, setLanguage } from '../lib/i18n.svelte';
import { initialState, reduce, type CallView } from '../lib/state';
import type { CallInfo, HistoryEntry } from '../lib/types';
import { callView } from '../lib/test_calls';

const call = callView;
const noop = () => {};
const cardProps = { now: 66_000, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop, onPark: noop, onTransfer: noop };

afterEach(() => {
  cleanup();
  setLanguage('system');
});

describe('components in German', () => {
  it('the call card speaks German', () => {
    setLanguage('de');
    const { getByTestId, getByRole } = render(CallCard, { call: call(), ...cardProps });
    expect(getByTestId('call-state').textContent).toBe('Verbunden');
    expect(getByTestId('hangup-button').textContent).toBe('Auflegen');
    expect(getByTestId('park-button').textContent).toBe('Parken');
    expect(getByTestId('transfer-button').textContent).toBe('Weiterverbinden');
    expect(getByTestId('call-unencrypted').textContent).toContain('Nicht verschlüsselt');
    expect(getByRole('article').getAttribute('aria-label')).toBe('Gespräch mit Bob');
    expect(getByTestId('call-timer').textContent).toBe('1:05');
  });

  it('changes language at once when the setting changes, without a reload', async () => {
    const { getByTestId } = render(CallCard, { call: call(), ...cardProps });
    expect(getByTestId('hangup-button').textContent).toBe('Hang up');
    const picker = render(LanguagePicker);
    const select = picker.getByTestId('language-select') as HTMLSelectElement;
    expect(select.value).toBe('system');
    await fireEvent.change(select, { target: { value: 'es' } });
    expect(getLocale()).toBe('es');
    expect(getByTestId('hangup-button').textContent).toBe('Colgar');
    await fireEvent.change(select, { target: { value: 'system' } });
    expect(getByTestId('hangup-button').textContent).toBe('Hang up');
  });

  it('the history shows German words, German numbers and a German date', () => {
    setLanguage('de');
    const now = new Date(2026, 2, 10, 12, 0).getTime();
    const entry: HistoryEntry = {
      id: 1,
      direction: 'incoming',
      account: 'sip:alice@example.com',
      remote_uri: 'sip:carol@example.com',
      remote_display_name: 'Carol',
      started_at_ms: new Date(2026, 2, 3, 14, 5).getTime(),
      answered_at_ms: new Date(2026, 2, 3, 14, 5).getTime(),
      ended_at_ms: new Date(2026, 2, 3, 14, 5).getTime() + 65_000,
      outcome: 'answered',
      sip_status: null,
      codec: 'opus',
      quality: { mos: 4.25, packets_lost: 1234 } as HistoryEntry['quality'],
      routing: null,
      end_message: null,
    } as HistoryEntry;
    const { getByTestId, getByText, container } = render(HistoryList, { entries: [entry], now, onCall: noop });
    expect(getByText('Letzte Anrufe')).toBeTruthy();
    const row = getByTestId('history-row');
    expect(row.textContent).toContain('angenommen');
    expect(row.querySelector('.when')?.textContent).toBe('3. März, 14:05');
    expect(getByTestId('history-mos').textContent).toBe('MOS 4,3');
    expect(getByTestId('history-mos').getAttribute('title')).toBe('Geschätzter MOS; 1.234 Pakete verloren');
    expect(container.querySelector('th.col-outcome')?.textContent).toBe('Ergebnis');
  });

  it('a transfer request in Spanish, with the highlighted names in their places', () => {
    setLanguage('es');
    const request = { call_id: 1, target: 'sip:desk@example.com', who: 'Bob', expiresAt: 30_000, expiresInSecs: 30, answered: false };
    const { getByTestId } = render(TransferRequestBar, { request, now: 0, onAccept: noop, onDecline: noop });
    expect(getByTestId('transfer-request').querySelector('.title')?.textContent?.trim()).toBe('Bob quiere transferirle a sip:desk@example.com');
    expect(getByTestId('transfer-request-countdown').textContent?.trim()).toBe('Se rechazará automáticamente en 30 s');
    expect(getByTestId('transfer-request-accept').textContent).toBe('Aceptar transferencia');
  });

  it('an incoming queue call in German', () => {
    setLanguage('de');
    const { getByTestId, container } = render(IncomingCard, {
      call: call({ direction: 'incoming', state: 'ringing', routing: 'queue call (To names queue `sales`) from 100: ring' }),
      now: 5_000,
      onAnswer: noop,
      onDecline: noop,
    });
    expect(container.querySelector('.label')?.textContent?.trim()).toBe('Warteschlangenanruf · klingelt seit 0:05');
    expect(getByTestId('answer-button').textContent).toBe('Annehmen');
  });
});

describe("the engine's sentences", () => {
  const info = (over: Partial<CallInfo> = {}) => call(over) as CallInfo;

  it('in English: exactly as the engine wrote them', () => {
    const s = reduce(initialState, { event: 'call_ended', call: info(), reason: { kind: 'remote_hangup' }, message: 'Bob hung up' }, 1);
    expect(s.calls[1].endedMessage).toBe('Bob hung up');
  });

  it('in German: written from the event data when it has a kind', () => {
    setLanguage('de');
    let s = reduce(initialState, { event: 'call_ended', call: info(), reason: { kind: 'remote_hangup' }, message: 'Bob hung up' }, 1);
    expect(s.calls[1].endedMessage).toBe('Bob hat aufgelegt');
    s = reduce(initialState, { event: 'call_ended', call: info(), reason: { kind: 'transferred', target: 'sip:desk@x' }, message: 'Bob transferred to sip:desk@x' }, 1);
    expect(s.calls[1].endedMessage).toBe('Bob weiterverbunden an sip:desk@x');
    s = reduce(initialState, { event: 'park_recall', call_id: 1, who: 'Bob', parked_mins: 3, message: 'call 1 with Bob has been parked for 3 min' }, 1);
    expect(s.warning).toBe('Bob ist seit 3 Min. geparkt');
    s = reduce(initialState, { event: 'transfer', call_id: 1, target: 'sip:desk@x', progress: { state: 'connected' }, message: 'call 1 transferred to sip:desk@x' }, 1);
    expect(s.notice).toBe('Gespräch an sip:desk@x weiterverbunden');
  });

  it('in German: the English sentence when the event has no kind the window knows', () => {
    setLanguage('de');
    let s = reduce(initialState, { event: 'warning', message: 'cannot open the microphone' }, 1);
    expect(s.warning).toBe('cannot open the microphone');
    s = reduce(
      initialState,
      { event: 'transfer', call_id: 1, target: 'sip:desk@x', progress: { state: 'failed', status: 486, reason: 'Busy Here' }, message: 'transfer of call 1 to sip:desk@x failed (486 Busy Here); the call is parked' },
      1,
    );
    expect(s.warning).toBe('transfer of call 1 to sip:desk@x failed (486 Busy Here); the call is parked');
    const unknown = { kind: 'something_new' } as unknown as Parameters<typeof reduce>[1] & { event: 'call_ended' };
    s = reduce(initialState, { event: 'call_ended', call: info(), reason: unknown as never, message: 'call with Bob ended oddly' }, 1);
    expect(s.calls[1].endedMessage).toBe('call with Bob ended oddly');
  });
});
