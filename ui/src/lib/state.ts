// The window's state and how each engine event changes it: a pure reducer, so the
// whole event stream -> view mapping is unit-tested without a window or an engine.

import type { Availability, CallId, CallInfo, CallQuality, PhoneEvent, RegistrationState } from './types';
import { formatNumber, remoteLabel } from './format';
import { endedText, parkRecallText, registrationProblem, transferText } from './engine_text';
import { m } from './i18n.svelte';

/** A call as the window shows it; `ended*` are set once the engine reports the end. */
export interface CallView extends CallInfo {
  endedMessage?: string;
  endedAt?: number;
}

/** The local conference as the engine last announced it. */
export interface ConferenceView {
  /** Its calls, in the engine's order (at least two while it exists). */
  parties: CallId[];
  /** Whether the user is in it (false: parked, every party hears music). */
  joined: boolean;
  /** Whether the user's own microphone is kept out of the mix. */
  muted: boolean;
}

/** The conference's latest sound levels (`conference_levels` event), dBFS. */
export interface ConferenceLevels {
  /** Each party's level, by call. */
  parties: Record<CallId, number>;
  /** The user's own microphone (null: not reported). */
  me: number | null;
}

/** The far end of a call asks to transfer us (`transfer_request` event), waiting for the user. */
export interface TransferRequestView {
  call_id: CallId;
  /** Where we would be transferred. */
  target: string;
  /** Who asks: display name or URI. */
  who: string;
  /** When the engine declines by itself (unix ms). */
  expiresAt: number;
  /** How long the engine gave the user to answer (s). */
  expiresInSecs: number;
  /** The user has answered; the engine's `transfer` event will close it. */
  answered: boolean;
}

export interface ViewState {
  /** Address of record the registration state belongs to. */
  aor: string | null;
  registration: RegistrationState;
  /** When `registration` arrived (unix ms), for the "Retrying in N s" countdown. */
  registrationAt: number;
  /** The registrations of the other accounts (several `[[account]]` entries), by AOR. */
  others: Record<string, RegistrationState>;
  calls: Record<CallId, CallView>;
  /** The last problem to show in the error banner. */
  warning: string | null;
  /** The last piece of news that is not a problem (a transfer going through), shown neutrally. */
  notice: string | null;
  /** The last DTMF digit received per call. */
  receivedDtmf: Record<CallId, string>;
  /** The latest live quality report per call. */
  quality: Record<CallId, CallQuality>;
  /** Presence and do-not-disturb as the engine last announced them. */
  availability: Availability;
  /** A consultation under way: the caller (parked) and the colleague called to consult. */
  consult: { caller: CallId; colleague: CallId } | null;
  /** The local conference, while there is one. */
  conference: ConferenceView | null;
  /** The conference's latest levels while the user is in it (null: none reported, or parked/over). */
  conferenceLevels: ConferenceLevels | null;
  /** Transfer requests from the far end waiting for the user's answer, by call. */
  transferRequests: Record<CallId, TransferRequestView>;
}

export const initialState: ViewState = {
  aor: null,
  registration: { state: 'unregistered' },
  registrationAt: 0,
  others: {},
  calls: {},
  warning: null,
  notice: null,
  receivedDtmf: {},
  quality: {},
  availability: { presence: 'available', dnd: false },
  consult: null,
  conference: null,
  conferenceLevels: null,
  transferRequests: {},
};

function putCall(state: ViewState, call: CallView): ViewState {
  return { ...state, calls: { ...state.calls, [call.id]: call } };
}

/** Applies one engine event; `now` is the time it arrived (unix ms). */
export function reduce(state: ViewState, event: PhoneEvent, now: number): ViewState {
  switch (event.event) {
    case 'registration':
      // The status bar follows the first account; the others are listed beside it.
      if (state.aor !== null && event.aor !== state.aor) {
        return { ...state, others: { ...state.others, [event.aor]: event.state } };
      }
      return { ...state, aor: event.aor, registration: event.state, registrationAt: now };
    case 'incoming_call':
    case 'call_updated': {
      const previous = state.calls[event.call.id];
      // An update that races behind the end must not bring an ended call back to life.
      if (previous?.endedAt !== undefined) return state;
      return putCall(state, { ...event.call });
    }
    case 'call_ended': {
      // A call the window never saw ring (rejected or forwarded by a routing rule) only goes
      // to history: no card pops up (do-not-disturb means it).
      if (!state.calls[event.call.id] && event.call.direction === 'incoming' && event.call.answered_at_ms == null) return state;
      // A consultation is over when either of its calls ends (transferred, or hung up).
      const id = event.call.id;
      const consult = state.consult && (state.consult.caller === id || state.consult.colleague === id) ? null : state.consult;
      return {
        ...putCall(state, { ...event.call, state: 'ended', endedMessage: endedText(event.call, event.reason, event.message), endedAt: now }),
        consult,
        transferRequests: withoutRequest(state.transferRequests, id),
      };
    }
    case 'call_quality':
      return { ...state, quality: { ...state.quality, [event.call_id]: event.quality } };
    case 'dtmf':
      return { ...state, receivedDtmf: { ...state.receivedDtmf, [event.call_id]: event.digit } };
    case 'warning':
      return { ...state, warning: event.message };
    case 'availability':
      return { ...state, availability: event.availability };
    case 'park_recall':
      return { ...state, warning: parkRecallText(event) };
    case 'transfer': {
      // The engine's answer to a transfer request: accepted (trying: the target is being called)
      // or declined by the user or the time-out (failed 603: the call stays, as asked, so it is
      // news, not a problem).
      const asked = state.transferRequests[event.call_id];
      const message = transferText(event);
      if (asked && event.progress.state !== 'ringing') {
        const transferRequests = withoutRequest(state.transferRequests, event.call_id);
        return { ...state, transferRequests, notice: message };
      }
      // Progress is news, shown as it comes; a failure is a problem (the call is back here).
      return event.progress.state === 'failed' ? { ...state, warning: message, notice: null } : { ...state, notice: message };
    }
    case 'transfer_request': {
      const request: TransferRequestView = {
        call_id: event.call_id,
        target: event.target,
        who: event.who,
        expiresAt: now + event.expires_in_secs * 1000,
        expiresInSecs: event.expires_in_secs,
        answered: false,
      };
      return { ...state, transferRequests: { ...state.transferRequests, [event.call_id]: request } };
    }
    case 'conference_levels': {
      // Only meaningful while the user is in a conference; a late report after it ended or was
      // parked is dropped.
      if (!state.conference?.joined) return state.conferenceLevels ? { ...state, conferenceLevels: null } : state;
      const parties: Record<CallId, number> = {};
      let me: number | null = null;
      for (const level of event.levels) {
        if (level.call_id === null) me = level.dbfs;
        else parties[level.call_id] = level.dbfs;
      }
      return { ...state, conferenceLevels: { parties, me } };
    }
    case 'conference': {
      if (event.parties.length === 0) return { ...state, conference: null, conferenceLevels: null };
      // A consultation whose calls were merged into the conference is over (no transfer to
      // complete any more).
      const merged = state.consult && (event.parties.includes(state.consult.caller) || event.parties.includes(state.consult.colleague));
      return {
        ...state,
        conference: { parties: [...event.parties], joined: event.joined, muted: event.muted },
        // Parked: nobody's microphone is mixed, the meters go (they come back with the next report).
        conferenceLevels: event.joined ? state.conferenceLevels : null,
        consult: merged ? null : state.consult,
      };
    }
    default:
      return state;
  }
}

function withoutRequest(requests: Record<CallId, TransferRequestView>, id: CallId): Record<CallId, TransferRequestView> {
  if (!(id in requests)) return requests;
  const rest = { ...requests };
  delete rest[id];
  return rest;
}

/**
 * The user answered the transfer request of call `id`: its prompt goes away at once; the request
 * is forgotten when the engine's `transfer` event for the call arrives (or the call ends).
 */
export function answerTransferRequest(state: ViewState, id: CallId): ViewState {
  const request = state.transferRequests[id];
  if (!request) return state;
  return { ...state, transferRequests: { ...state.transferRequests, [id]: { ...request, answered: true } } };
}

/** Forgets the transfer request of call `id` (the answer could not be given: it is gone). */
export function forgetTransferRequest(state: ViewState, id: CallId): ViewState {
  return { ...state, transferRequests: withoutRequest(state.transferRequests, id) };
}

/**
 * Transfer requests to prompt for at `now`: not answered yet, not expired, on a call still up;
 * oldest deadline first.
 */
export function pendingTransferRequests(state: ViewState, now: number): TransferRequestView[] {
  return Object.values(state.transferRequests)
    .filter((r) => !r.answered && r.expiresAt > now && state.calls[r.call_id]?.state !== 'ended')
    .sort((a, b) => a.expiresAt - b.expiresAt);
}

/**
 * Whole seconds left to answer a transfer request at `now` (0 once expired); never more than the
 * engine gave (the window's clock ticks behind the event's arrival).
 */
export function transferRequestSecondsLeft(request: TransferRequestView, now: number): number {
  return Math.min(request.expiresInSecs, Math.max(0, Math.ceil((request.expiresAt - now) / 1000)));
}

/**
 * Replaces the calls with the engine's snapshot (window (re)loaded while calls exist). A
 * conference is read back from its calls' `conference` flags (the user is in it unless they are
 * parked); the user's own mute is not in the snapshot, so it is kept from the last event. A
 * transfer request still waiting for the user comes back with its call (its countdown runs to
 * the engine's deadline); one the user already answered stays answered.
 */
export function withCalls(state: ViewState, calls: CallInfo[]): ViewState {
  const map: Record<CallId, CallView> = {};
  for (const call of calls) map[call.id] = { ...call };
  const members = calls.filter((c) => c.conference && c.state === 'answered');
  const conference =
    members.length >= 2
      ? { parties: members.map((c) => c.id), joined: members.some((c) => c.parked_since_ms == null), muted: state.conference?.muted ?? false }
      : null;
  const transferRequests: Record<CallId, TransferRequestView> = {};
  for (const call of calls) {
    const waiting = call.transfer_request;
    const known = state.transferRequests[call.id];
    if (waiting) {
      transferRequests[call.id] = {
        call_id: call.id,
        target: waiting.target,
        who: waiting.who,
        expiresAt: waiting.expires_at_ms,
        expiresInSecs: waiting.expires_in_secs,
        answered: known?.answered ?? false,
      };
    } else if (known?.answered) {
      // Answered, and the engine's `transfer` event that closes it is on its way.
      transferRequests[call.id] = known;
    }
  }
  return { ...state, calls: map, conference, conferenceLevels: conference?.joined ? state.conferenceLevels : null, transferRequests };
}

/** The user consults `colleague` (just dialled) about `caller` (parked by the dial). */
export function startConsult(state: ViewState, caller: CallId, colleague: CallId): ViewState {
  return { ...state, consult: { caller, colleague } };
}

/** Forgets the consultation (cancelled by the user). */
export function endConsult(state: ViewState): ViewState {
  return { ...state, consult: null };
}

/** The consultation's two calls while both are still up. */
export function consultPair(state: ViewState): { caller: CallView; colleague: CallView } | null {
  if (!state.consult) return null;
  const caller = state.calls[state.consult.caller];
  const colleague = state.calls[state.consult.colleague];
  if (!caller || !colleague || caller.state === 'ended' || colleague.state === 'ended') return null;
  return { caller, colleague };
}

/** Width of a level meter, in % (0..100): -60 dBFS and below is empty, 0 dBFS full. */
export function levelPercent(dbfs: number | null | undefined): number {
  if (dbfs == null || !Number.isFinite(dbfs)) return 0;
  return Math.round(Math.min(100, Math.max(0, ((dbfs + 60) / 60) * 100)));
}

/** Removes a finished call's card. */
export function dismissCall(state: ViewState, id: CallId): ViewState {
  const calls = { ...state.calls };
  delete calls[id];
  const receivedDtmf = { ...state.receivedDtmf };
  delete receivedDtmf[id];
  const quality = { ...state.quality };
  delete quality[id];
  return { ...state, calls, receivedDtmf, quality };
}

/** Whether a call is one of the conference's parties (and has not ended). */
export function inConference(state: ViewState, call: CallView): boolean {
  return call.state !== 'ended' && (state.conference?.parties.includes(call.id) ?? false);
}

/** The conference's calls still up, in the engine's order (empty: no conference). */
export function conferenceParties(state: ViewState): CallView[] {
  if (!state.conference) return [];
  return state.conference.parties.map((id) => state.calls[id]).filter((c): c is CallView => !!c && c.state !== 'ended');
}

/**
 * Whether a parked call can be merged now: with the call that has the microphone, or with the
 * conference (joined or parked; `conference([id])` merges both).
 */
export function canMerge(state: ViewState): boolean {
  return conferenceParties(state).length > 0 || currentCall(state) !== null;
}

/** Ringing incoming calls waiting for answer/decline, oldest first. */
export function incomingCalls(state: ViewState): CallView[] {
  return Object.values(state.calls)
    .filter((c) => c.direction === 'incoming' && c.state === 'ringing')
    .sort((a, b) => a.started_at_ms - b.started_at_ms);
}

/** Whether a call is parked (held by us, with music on hold). */
export function isParked(call: CallView): boolean {
  return call.state === 'answered' && call.parked_since_ms != null;
}

/**
 * Calls shown as cards: being set up, connected and not parked, or just ended; oldest first.
 * The conference's calls are on the conference card instead.
 */
export function activeCalls(state: ViewState): CallView[] {
  return Object.values(state.calls)
    .filter((c) => !(c.direction === 'incoming' && c.state === 'ringing') && !isParked(c) && !inConference(state, c))
    .sort((a, b) => a.started_at_ms - b.started_at_ms);
}

/** Parked calls, longest parked first (a parked conference's calls stay on its card). */
export function parkedCalls(state: ViewState): CallView[] {
  return Object.values(state.calls)
    .filter((c) => isParked(c) && !inConference(state, c))
    .sort((a, b) => (a.parked_since_ms ?? 0) - (b.parked_since_ms ?? 0));
}

/**
 * The call that has the microphone: the engine's `active` one, else the only connected one;
 * none while the user is in the conference (the microphone goes to all its calls).
 */
export function currentCall(state: ViewState): CallView | null {
  const live = Object.values(state.calls).filter((c) => c.state === 'answered' && !isParked(c) && !inConference(state, c));
  return live.find((c) => c.active) ?? (live.length === 1 ? live[0] : null);
}

/** Sentence for the incoming card when answering will park the current call. */
export function answerParksLabel(state: ViewState): string | null {
  if (state.conference?.joined && conferenceParties(state).length > 0) return m.answer_parks_conference();
  const current = currentCall(state);
  if (!current) return null;
  return m.answer_parks({ name: remoteLabel(current.remote_display_name, current.remote_uri) });
}

/** A parked call due for a reminder: parked for `recallMs` or longer at `now`. */
export function needsRecall(call: CallView, now: number, recallMs: number): boolean {
  return isParked(call) && now - (call.parked_since_ms ?? now) >= recallMs;
}

/** The word shown for a call's state. */
export function callStateLabel(call: CallView): string {
  switch (call.state) {
    case 'calling':
      return m.call_state_calling();
    case 'ringing':
      return call.direction === 'incoming' ? m.call_state_ringing_incoming() : m.call_state_ringing();
    case 'answered':
      if (isParked(call)) return m.call_state_parked();
      if (call.held_by_remote) return m.call_state_held_by_remote();
      return m.call_state_connected();
    case 'ended':
      return m.call_state_ended();
  }
}

/** The status bar's words for the registration, with the retry countdown at `now`. */
export function registrationLabel(reg: RegistrationState, receivedAt: number, now: number): string {
  switch (reg.state) {
    case 'unregistered':
      return m.registration_unregistered();
    case 'registering':
      return m.registration_registering();
    case 'registered':
      return m.registration_registered();
    case 'failed':
      return m.registration_failed({ problem: registrationProblem(reg) });
    case 'retrying': {
      const left = Math.max(0, reg.in_secs - Math.floor((now - receivedAt) / 1000));
      const problem = registrationProblem(reg);
      return left > 0 ? m.registration_retrying_in({ seconds: formatNumber(left), problem }) : m.registration_retrying_now({ problem });
    }
  }
}

/** Tone of the status indicator. */
export function registrationTone(reg: RegistrationState): 'ok' | 'busy' | 'bad' | 'idle' {
  switch (reg.state) {
    case 'registered':
      return 'ok';
    case 'registering':
    case 'retrying':
      return 'busy';
    case 'failed':
      return 'bad';
    default:
      return 'idle';
  }
}

/** How a line sounds, from its estimated MOS: good ≥ 4.0, fair ≥ 3.6, else poor. */
export function qualityLevel(q: CallQuality | undefined | null): 'good' | 'fair' | 'poor' | null {
  if (!q || q.mos == null) return null;
  if (q.mos >= 4.0) return 'good';
  if (q.mos >= 3.6) return 'fair';
  return 'poor';
}

/** The warning shown on a poor line: what is wrong with it, in plain figures. */
export function qualityWarning(q: CallQuality | undefined | null): string | null {
  if (qualityLevel(q) !== 'poor' || !q) return null;
  const expected = q.packets_received + q.packets_lost;
  const parts: string[] = [];
  if (expected > 0 && q.packets_lost > 0) parts.push(m.quality_lost({ percent: formatNumber((100 * q.packets_lost) / expected, 1) }));
  if (q.jitter_ms != null && q.jitter_ms >= 20) parts.push(m.quality_jitter({ ms: formatNumber(q.jitter_ms) }));
  if (q.rtt_ms != null && q.rtt_ms >= 300) parts.push(m.quality_round_trip({ ms: formatNumber(q.rtt_ms) }));
  return parts.length ? m.quality_poor_because({ details: parts.join(', ') }) : m.quality_poor();
}

/** "Queue call" / "Direct call" from a routing summary ("queue call (…) from …: …"). */
export function routingKind(routing: string | null | undefined): string | null {
  const kind = routing?.match(/^(\w+) call\b/)?.[1];
  if (kind === 'queue') return m.routing_queue_call();
  if (kind === 'direct') return m.routing_direct_call();
  return kind ? `${kind[0].toUpperCase()}${kind.slice(1)} call` : null;
}
