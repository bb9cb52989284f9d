// The ringing window's view (the window itself is opened and closed by src-tauri/src/ringing.rs;
// the e2e tests check that in the real app).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import RingingWindow from './RingingWindow.svelte';
import { callView } from '../lib/test_calls';
import { ringingCallId, ringingView, stillRinging } from '../lib/ringing';
import type { AccountView, CallInfo, PhoneEvent } from '../lib/types';

afterEach(() => cleanup());

const ringingCall = (over: Partial<CallInfo> = {}): CallInfo =>
  callView({
    id: 7,
    direction: 'incoming',
    state: 'ringing',
    remote_display_name: 'Dana Scully',
    remote_uri: 'sip:dana@pbx.example.com;transport=tcp',
    answered_at_ms: null,
    routing: 'queue call (rule 2 "support") from sip:dana@pbx.example.com: ring',
    ...over,
  });

const account = (voicemail: string | null): AccountView => ({
  configured: true,
  profile_path: null,
  account: null,
  registration: { state: 'unregistered' },
  error: null,
  warning: null,
  voicemail,
  caller_ids: [],
  accounts: [],
});

/** Renders the window for call 7 with fake engine calls; `emit` sends it an event. */
function renderWindow(calls: CallInfo[], voicemail: string | null = null) {
  let handler: ((event: PhoneEvent) => void) | null = null;
  const actions = {
    answer: vi.fn(async () => {}),
    decline: vi.fn(async () => {}),
    sendToVoicemail: vi.fn(async () => {}),
  };
  const view = render(RingingWindow, {
    id: 7,
    loadCalls: async () => calls,
    loadAccount: async () => account(voicemail),
    onEvent: async (h: (event: PhoneEvent) => void) => {
      handler = h;
      return () => (handler = null);
    },
    ...actions,
  });
  const emit = (event: PhoneEvent) => handler?.(event);
  return { ...view, actions, emit };
}

describe('ringing window', () => {
  it('names the caller, their address and why it rings; Answer answers this call', async () => {
    const { findByTestId, getByTestId, queryByTestId, actions } = renderWindow([ringingCall()]);
    expect((await findByTestId('ringing-name')).textContent).toBe('Dana Scully');
    expect(getByTestId('ringing-number').textContent).toBe('dana@pbx.example.com');
    const reason = getByTestId('ringing-reason');
    expect(reason.textContent?.trim()).toBe('Queue call');
    expect(reason.getAttribute('title')).toContain('rule 2 "support"');
    // The rules' whole sentence too (the engine's words).
    expect(getByTestId('ringing-routing').textContent).toBe('queue call (rule 2 "support") from sip:dana@pbx.example.com: ring');
    // No voicemail configured: no such button.
    expect(queryByTestId('ringing-voicemail')).toBeNull();
    const answer = getByTestId('ringing-answer') as HTMLButtonElement;
    await waitFor(() => expect(answer.disabled).toBe(false));
    await fireEvent.click(answer);
    expect(actions.answer).toHaveBeenCalledWith(7);
    // One click is enough: the buttons wait for the shell to close the window.
    expect(answer.disabled).toBe(true);
    expect(actions.decline).not.toHaveBeenCalled();
  });

  it('declines, or sends to voicemail when one is configured', async () => {
    const first = renderWindow([ringingCall()], 'sip:vm@pbx.example.com');
    await fireEvent.click(await first.findByTestId('ringing-voicemail'));
    expect(first.actions.sendToVoicemail).toHaveBeenCalledWith(7);
    cleanup();
    const second = renderWindow([ringingCall()]);
    await fireEvent.click(await second.findByTestId('ringing-decline'));
    expect(second.actions.decline).toHaveBeenCalledWith(7);
  });

  it('a call without a name shows its address once and no reason when no rule said one', async () => {
    const { findByTestId, queryByTestId, getByTestId } = renderWindow([
      ringingCall({ remote_display_name: null, routing: null, remote_uri: 'sip:2001@pbx.example.com' }),
    ]);
    expect((await findByTestId('ringing-name')).textContent).toBe('2001@pbx.example.com');
    expect(queryByTestId('ringing-number')).toBeNull();
    expect(getByTestId('ringing-reason').textContent?.trim()).toBe('Incoming call');
    expect(queryByTestId('ringing-routing')).toBeNull();
  });

  it('answered elsewhere (or given up) before the window closes: nothing left to press', async () => {
    const { findByTestId, getByTestId, emit } = renderWindow([ringingCall()]);
    await findByTestId('ringing-name');
    await waitFor(() => expect((getByTestId('ringing-answer') as HTMLButtonElement).disabled).toBe(false));
    emit({ event: 'call_updated', call: ringingCall({ state: 'answered' }) });
    await findByTestId('ringing-gone');
    expect((getByTestId('ringing-answer') as HTMLButtonElement).disabled).toBe(true);
    expect((getByTestId('ringing-decline') as HTMLButtonElement).disabled).toBe(true);
    // Another call's events do not touch it.
    emit({ event: 'call_updated', call: ringingCall({ id: 8, state: 'ringing' }) });
    expect((getByTestId('ringing-answer') as HTMLButtonElement).disabled).toBe(true);
  });

  it('a call already gone when the window opens says so', async () => {
    const { findByText, getByTestId } = renderWindow([]);
    expect(await findByText('This call is no longer ringing.')).toBeTruthy();
    expect((getByTestId('ringing-answer') as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows why an action failed and lets the user try again', async () => {
    const { findByTestId, actions, getByTestId } = renderWindow([ringingCall()]);
    actions.answer.mockRejectedValueOnce('no such call: 7');
    await fireEvent.click(await findByTestId('ringing-answer'));
    expect((await findByTestId('ringing-problem')).textContent).toContain('no such call: 7');
    expect((getByTestId('ringing-answer') as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('ringing window address and view', () => {
  it('reads the call id of ?ringing=<id> only', () => {
    expect(ringingCallId('?ringing=12')).toBe(12);
    expect(ringingCallId('')).toBeNull();
    expect(ringingCallId('?ringing=')).toBeNull();
    expect(ringingCallId('?ringing=1e3')).toBeNull();
    expect(ringingCallId('?ringing=-1')).toBeNull();
    expect(ringingCallId('?other=1')).toBeNull();
    expect(ringingCallId('?ringing=99999999999999999999')).toBeNull();
  });

  it('says what the rules decided and whether the call still rings', () => {
    expect(ringingView(ringingCall({ routing: 'direct call from sip:x@y: ring' })).reason).toBe('Direct call');
    expect(stillRinging(ringingCall())).toBe(true);
    expect(stillRinging(ringingCall({ state: 'answered' }))).toBe(false);
    expect(stillRinging(ringingCall({ direction: 'outgoing' }))).toBe(false);
    expect(stillRinging(undefined)).toBe(false);
  });
});
