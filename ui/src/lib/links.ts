// Links that dial (tel:, sip:, sips:, callto:, `hookflash-app dial`): what the window does with
// one the shell read (src-tauri/src/links.rs). Pure, so every rule is unit-tested:
// - a link the shell refused shows its sentence and dials nothing;
// - not ready to call (no account, registration failed or off): a sentence, nothing dialled;
//   while the first registration is still under way the link waits for it;
// - "Ask before calling a link" (on by default) shows a confirm bar first; with it off the link is
//   dialled at once, except during a call (a link must not park the caller by surprise);
// - a second link while one waits for Call/Cancel or while a link's call is still dialling is
//   refused with a sentence: the bar the user is looking at never changes under their cursor.

import type { CallView } from './state';
import type { CallId, LinkCall, LinkRequest, RegistrationState } from './types';
import { m } from './i18n.svelte';
import { registrationProblem } from './engine_text';

export interface LinkState {
  /** A link waiting for the first registration to finish. */
  held: LinkCall | null;
  /** A link waiting for the user's Call or Cancel. */
  pending: LinkCall | null;
  /** A link's call from dialling until it is answered or ends (`id`: once `dial` returned). */
  dialling: { call: LinkCall; id: CallId | null } | null;
}

export const noLinks: LinkState = { held: null, pending: null, dialling: null };

/** Whether calls can go out now: `ready`, `wait` (first registration under way) or why not. */
export type Readiness = { state: 'ready' } | { state: 'wait' } | { state: 'refuse'; reason: string };

/**
 * `configured`: a profile exists; `registers`: the account registers (false: direct calls only,
 * always ready); `registration`: the first account's state.
 */
export function linkReadiness(configured: boolean, registers: boolean, registration: RegistrationState): Readiness {
  if (!configured) return { state: 'refuse', reason: m.link_no_account() };
  if (!registers) return { state: 'ready' };
  switch (registration.state) {
    case 'registered':
      return { state: 'ready' };
    case 'registering':
      return { state: 'wait' };
    case 'failed':
    case 'retrying':
      return { state: 'refuse', reason: m.link_not_registered_because({ problem: registrationProblem(registration) }) };
    case 'unregistered':
      return { state: 'refuse', reason: m.link_not_registered() };
  }
}

export interface LinkContext {
  readiness: Readiness;
  /** The "Ask before calling a link" setting. */
  ask: boolean;
  /** A call is under way (ringing, connected or parked). */
  inCall: boolean;
}

/** What to do about a link: the new state, and a call to dial now or a sentence to show. */
export interface LinkOutcome {
  state: LinkState;
  dial: LinkCall | null;
  warning: string | null;
}

const keep = (state: LinkState, warning: string | null = null): LinkOutcome => ({ state, dial: null, warning });

/** A link arrived (from the shell's `take_links`). */
export function receiveLink(state: LinkState, request: LinkRequest, context: LinkContext): LinkOutcome {
  if (request.kind === 'refused') return keep(state, m.link_refused({ problem: request.message }));
  const call = request.call;
  const busy = state.pending ?? state.held ?? state.dialling?.call;
  if (busy) {
    const args = { label: call.label, other: busy.label };
    const text = state.pending ? m.link_busy_pending(args) : state.held ? m.link_busy_held(args) : m.link_busy_dialling(args);
    return keep(state, text);
  }
  return decide(state, call, context);
}

function decide(state: LinkState, call: LinkCall, context: LinkContext): LinkOutcome {
  const readiness = context.readiness;
  if (readiness.state === 'wait') return keep({ ...state, held: call });
  if (readiness.state === 'refuse') {
    return keep(state, m.link_not_ready({ reason: readiness.reason, label: call.label }));
  }
  if (context.ask || context.inCall) return keep({ ...state, pending: call });
  return { state: { ...state, dialling: { call, id: null } }, dial: call, warning: null };
}

/** The registration changed: a held link goes on (asked, dialled or refused) once it settles. */
export function registrationSettled(state: LinkState, context: LinkContext): LinkOutcome {
  if (!state.held || context.readiness.state === 'wait') return keep(state);
  return decide({ ...state, held: null }, state.held, context);
}

/** The user pressed Call: the waiting link is dialled if calls can still go out. */
export function confirmLink(state: LinkState, readiness: Readiness): LinkOutcome {
  const call = state.pending;
  if (!call) return keep(state);
  if (readiness.state !== 'ready') {
    const reason = readiness.state === 'refuse' ? readiness.reason : m.link_still_registering();
    return keep({ ...state, pending: null }, m.link_not_ready({ reason, label: call.label }));
  }
  return { state: { ...state, pending: null, dialling: { call, id: null } }, dial: call, warning: null };
}

/** The user pressed Cancel: nothing is dialled. */
export function cancelLink(state: LinkState): LinkState {
  return { ...state, pending: null };
}

/** `dial` returned the link's call. */
export function linkDialled(state: LinkState, id: CallId): LinkState {
  return state.dialling ? { ...state, dialling: { ...state.dialling, id } } : state;
}

/** `dial` failed (its sentence is shown elsewhere): the link is over. */
export function linkDialFailed(state: LinkState): LinkState {
  return { ...state, dialling: null };
}

/** Follows the window's calls: a link's call is done dialling once answered, ended or gone. */
export function followLinkCall(state: LinkState, calls: Record<CallId, CallView>): LinkState {
  const id = state.dialling?.id;
  if (id == null) return state;
  const call = calls[id];
  if (call && (call.state === 'calling' || call.state === 'ringing')) return state;
  return { ...state, dialling: null };
}
