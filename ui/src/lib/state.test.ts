import { describe, expect, it } from 'vitest';
import {
  activeCalls,
  answerParksLabel,
  answerTransferRequest,
  forgetTransferRequest,
  pendingTransferRequests,
  transferRequestSecondsLeft,
  callStateLabel,
  canMerge,
  conferenceParties,
  inConference,
  levelPercent,
  consultPair,
  currentCall,
  endConsult,
  startConsult,
  needsRecall,
  parkedCalls,
  qualityLevel,
  qualityWarning,
  routingKind,
  dismissCall,
  incomingCalls,
  initialState,
  reduce,
  registrationLabel,
  withCalls,
  type ViewState,
} from './state';
import type { CallInfo, PhoneEvent } from './types';
import { callView } from './test_calls';

const call = (over: Partial<CallInfo> = {}): CallInfo =>
  callView({ state: 'calling', remote_display_name: null, codec: null, started_at_ms: 1_000, answered_at_ms: null, ...over });

const run = (events: PhoneEvent[], start: ViewState = initialState): ViewState =>
  events.reduce((state, event, i) => reduce(state, event, 10_000 + i * 1000), start);

describe('reduce', () => {
  it('follows an outgoing call from INVITE to the end', () => {
    const s = run([
      { event: 'call_updated', call: call() },
      { event: 'call_updated', call: call({ state: 'ringing' }) },
      { event: 'call_updated', call: call({ state: 'answered', answered_at_ms: 5_000, codec: 'opus' }) },
      { event: 'dtmf', call_id: 1, digit: '5' },
    ]);
    expect(s.calls[1].state).toBe('answered');
    expect(s.calls[1].codec).toBe('opus');
    expect(s.receivedDtmf[1]).toBe('5');
    expect(activeCalls(s).map((c) => c.id)).toEqual([1]);

    const ended = reduce(
      s,
      { event: 'call_ended', call: call({ state: 'answered' }), reason: { kind: 'remote_hangup' }, message: 'Bob hung up' },
      20_000,
    );
    expect(ended.calls[1].state).toBe('ended');
    expect(ended.calls[1].endedMessage).toBe('Bob hung up');
    expect(ended.calls[1].endedAt).toBe(20_000);
    expect(callStateLabel(ended.calls[1])).toBe('Ended');
  });

  it('ignores updates that arrive after the end', () => {
    const s = run([
      { event: 'call_ended', call: call(), reason: { kind: 'local_hangup' }, message: 'You hung up' },
      { event: 'call_updated', call: call({ state: 'answered' }) },
    ]);
    expect(s.calls[1].state).toBe('ended');
  });

  it('separates ringing incoming calls from the rest', () => {
    const s = run([
      { event: 'incoming_call', call: call({ id: 7, direction: 'incoming', state: 'ringing', started_at_ms: 2 }) },
      { event: 'call_updated', call: call({ id: 3 }) },
    ]);
    expect(incomingCalls(s).map((c) => c.id)).toEqual([7]);
    expect(activeCalls(s).map((c) => c.id)).toEqual([3]);
    const answered = reduce(s, { event: 'call_updated', call: call({ id: 7, direction: 'incoming', state: 'answered' }) }, 0);
    expect(incomingCalls(answered)).toEqual([]);
    expect(activeCalls(answered).map((c) => c.id).sort()).toEqual([3, 7]);
  });

  it('the first account drives the status and the others are kept by address', () => {
    let s: ViewState = { ...initialState, aor: 'sip:alice@example.com' };
    s = reduce(s, { event: 'registration', aor: 'sip:alice@example.com', state: { state: 'registered', expires_in: 600 } }, 1);
    s = reduce(s, { event: 'registration', aor: 'sip:sales@trunk.example.net', state: { state: 'failed', message: '403 Forbidden', status: 403 } }, 2);
    expect(s.registration).toEqual({ state: 'registered', expires_in: 600 });
    expect(s.registrationAt).toBe(1);
    expect(s.aor).toBe('sip:alice@example.com');
    expect(s.others['sip:sales@trunk.example.net']).toEqual({ state: 'failed', message: '403 Forbidden', status: 403 });
  });

  it('tracks registration and warnings', () => {
    const s = run([
      { event: 'registration', aor: 'sip:alice@example.com', state: { state: 'registering' } },
      { event: 'registration', aor: 'sip:alice@example.com', state: { state: 'failed', message: '403 Forbidden', status: 403 } },
      { event: 'warning', message: 'cannot open the microphone' },
    ]);
    expect(s.aor).toBe('sip:alice@example.com');
    expect(s.registration).toEqual({ state: 'failed', message: '403 Forbidden', status: 403 });
    expect(s.registrationAt).toBe(11_000);
    expect(s.warning).toBe('cannot open the microphone');
  });

  it('shows a park recall in the banner', () => {
    const s = run([
      { event: 'park_recall', call_id: 3, who: 'Bob', parked_mins: 2, message: 'call 3 with Bob has been parked for 2 min' },
    ]);
    expect(s.warning).toBe('call 3 with Bob has been parked for 2 min');
  });

  it('follows presence and do-not-disturb as the engine announces them', () => {
    expect(initialState.availability).toEqual({ presence: 'available', dnd: false });
    const s = run([
      { event: 'availability', availability: { presence: 'away', dnd: false } },
      { event: 'availability', availability: { presence: 'away', dnd: true } },
    ]);
    expect(s.availability).toEqual({ presence: 'away', dnd: true });
  });

  it('does not mutate the previous state', () => {
    const before = run([{ event: 'call_updated', call: call() }]);
    const snapshot = JSON.stringify(before);
    reduce(before, { event: 'call_updated', call: call({ state: 'ringing' }) }, 0);
    expect(JSON.stringify(before)).toBe(snapshot);
  });

  it('snapshots and dismissal', () => {
    const s = withCalls(initialState, [call({ id: 4 }), call({ id: 5 })]);
    expect(Object.keys(s.calls)).toEqual(['4', '5']);
    expect(Object.keys(dismissCall(s, 4).calls)).toEqual(['5']);
  });
});

describe('labels', () => {
  it('words the registration states', () => {
    expect(registrationLabel({ state: 'registering' }, 0, 0)).toBe('Registering…');
    expect(registrationLabel({ state: 'registered', expires_in: 600 }, 0, 0)).toBe('Registered');
    expect(registrationLabel({ state: 'failed', message: 'registration refused (403) by pbx: Forbidden', status: 403 }, 0, 0)).toBe(
      'Failed: registration refused (403) by pbx: Forbidden',
    );
  });
  it('counts the retry down from when the event arrived', () => {
    const reg = { state: 'retrying' as const, message: 'registrar unreachable', in_secs: 30 };
    expect(registrationLabel(reg, 1_000, 1_000)).toBe('Retrying in 30 s: registrar unreachable');
    expect(registrationLabel(reg, 1_000, 11_500)).toBe('Retrying in 20 s: registrar unreachable');
    expect(registrationLabel(reg, 1_000, 30_999)).toBe('Retrying in 1 s: registrar unreachable');
    expect(registrationLabel(reg, 1_000, 99_000)).toBe('Retrying now: registrar unreachable');
  });
  it('words the call states the e2e test looks for', () => {
    expect(callStateLabel({ ...call(), state: 'calling' })).toContain('Calling');
    expect(callStateLabel({ ...call(), state: 'ringing' })).toContain('Ringing');
    expect(callStateLabel({ ...call(), state: 'answered' })).toBe('Connected');
  });
});

describe('several calls', () => {
  const answered = (id: number, over: Partial<CallInfo> = {}) =>
    call({ id, direction: 'incoming', state: 'answered', answered_at_ms: 2_000, remote_uri: `sip:p${id}@example.com`, ...over });

  it('separates the active call, the parked list and ringing calls', () => {
    const s = run([
      { event: 'call_updated', call: answered(1, { parked_since_ms: 3_000, remote_display_name: 'First' }) },
      { event: 'call_updated', call: answered(2, { active: true, remote_display_name: 'Second' }) },
      { event: 'call_updated', call: answered(3, { parked_since_ms: 2_500 }) },
      { event: 'incoming_call', call: call({ id: 4, direction: 'incoming', state: 'ringing' }) },
    ]);
    expect(activeCalls(s).map((c) => c.id)).toEqual([2]);
    expect(parkedCalls(s).map((c) => c.id)).toEqual([3, 1]);
    expect(incomingCalls(s).map((c) => c.id)).toEqual([4]);
    expect(currentCall(s)?.id).toBe(2);
    expect(answerParksLabel(s)).toBe('Answering parks Second');
    expect(callStateLabel(s.calls[1])).toBe('Parked');
  });

  it('a switch moves the calls between the card and the parked list', () => {
    const s = run([
      { event: 'call_updated', call: answered(1, { active: true }) },
      { event: 'call_updated', call: answered(2, { parked_since_ms: 3_000 }) },
      // switch_to(2): the engine parks 1, then activates 2
      { event: 'call_updated', call: answered(1, { parked_since_ms: 9_000 }) },
      { event: 'call_updated', call: answered(2, { active: true, parked_since_ms: null }) },
    ]);
    expect(currentCall(s)?.id).toBe(2);
    expect(parkedCalls(s).map((c) => c.id)).toEqual([1]);
    expect(answerParksLabel(s)).toBe('Answering parks p2@example.com');
  });

  it('nothing to park when no call is connected', () => {
    const s = run([{ event: 'call_updated', call: answered(1, { parked_since_ms: 3_000 }) }]);
    expect(currentCall(s)).toBeNull();
    expect(answerParksLabel(s)).toBeNull();
  });

  it('a call ended while parked leaves the parked list', () => {
    const s = run([
      { event: 'call_updated', call: answered(1, { parked_since_ms: 3_000 }) },
      { event: 'call_ended', call: answered(1, { parked_since_ms: 3_000 }), reason: { kind: 'remote_hangup' }, message: 'The other party hung up' },
    ]);
    expect(parkedCalls(s)).toEqual([]);
    expect(activeCalls(s).map((c) => c.state)).toEqual(['ended']);
  });

  it('held by remote is shown', () => {
    expect(callStateLabel(answered(1, { held_by_remote: true }))).toBe('Held by remote');
  });

  it('park recall after the configured time', () => {
    const c = answered(1, { parked_since_ms: 10_000 });
    expect(needsRecall(c, 69_999, 60_000)).toBe(false);
    expect(needsRecall(c, 70_000, 60_000)).toBe(true);
    expect(needsRecall(answered(2), 1e9, 60_000)).toBe(false);
  });
});

describe('quality and routing', () => {
  const q = (mos: number | null, lost = 0, received = 1000, jitter = 2) => ({
    mos,
    packets_received: received,
    packets_lost: lost,
    late_packets: 0,
    concealed_frames: 0,
    jitter_ms: jitter,
    rtt_ms: null,
    jitter_buffer_ms: 40,
  });

  it('grades the line by MOS and explains a poor one', () => {
    expect(qualityLevel(q(4.3))).toBe('good');
    expect(qualityLevel(q(3.8))).toBe('fair');
    expect(qualityLevel(q(3.1))).toBe('poor');
    expect(qualityLevel(q(null))).toBeNull();
    expect(qualityWarning(q(4.3))).toBeNull();
    expect(qualityWarning(q(2.9, 100, 900, 45))).toBe('Poor line: 10.0 % lost, 45 ms jitter');
  });

  it('keeps the latest report per call and drops it with the card', () => {
    let s = run([
      { event: 'call_updated', call: call({ state: 'answered', answered_at_ms: 2_000 }) },
      { event: 'call_quality', call_id: 1, quality: q(4.1) },
      { event: 'call_quality', call_id: 1, quality: q(3.0, 50) },
    ]);
    expect(s.quality[1].mos).toBe(3.0);
    s = dismissCall(s, 1);
    expect(s.quality[1]).toBeUndefined();
  });

  it('a call rejected by a rule before it rang pops up no card', () => {
    const s = run([
      {
        event: 'call_ended',
        call: call({ id: 9, direction: 'incoming', state: 'ended', routing: 'queue call (…) from 100: reject_busy' }),
        reason: { kind: 'rejected', status: 486 },
        message: 'rejected',
      },
    ]);
    expect(s.calls[9]).toBeUndefined();
  });

  it('names the kind of call from the routing summary', () => {
    expect(routingKind('queue call (To names queue `sales`) from 100: ring by default #9: when true then ring')).toBe('Queue call');
    expect(routingKind('direct call (addressed to this account) from bob: ring')).toBe('Direct call');
    expect(routingKind(null)).toBeNull();
  });
});

describe('consult transfer', () => {
  const answered = (id: number, over: Partial<CallInfo> = {}) =>
    call({ id, state: 'answered', answered_at_ms: 2_000, remote_uri: `sip:p${id}@h`, ...over });

  it('pairs the parked caller with the colleague until either call ends', () => {
    let s = run([
      { event: 'call_updated', call: answered(1, { parked_since_ms: 3_000 }) },
      { event: 'call_updated', call: call({ id: 2, state: 'calling', active: true }) },
    ]);
    s = startConsult(s, 1, 2);
    const pair = consultPair(s);
    expect(pair?.caller.id).toBe(1);
    expect(pair?.colleague.state).toBe('calling');
    // The caller's call ends (transferred): the consultation is over.
    s = reduce(s, { event: 'call_ended', call: answered(1), reason: { kind: 'transferred', target: 'sip:p2@h' }, message: 'transferred' }, 5_000);
    expect(s.consult).toBeNull();
    expect(consultPair(s)).toBeNull();
  });

  it('is forgotten when cancelled, and an unrelated call ending keeps it', () => {
    let s = run([
      { event: 'call_updated', call: answered(1, { parked_since_ms: 3_000 }) },
      { event: 'call_updated', call: answered(2, { active: true }) },
      { event: 'call_updated', call: answered(3, { parked_since_ms: 4_000 }) },
    ]);
    s = startConsult(s, 1, 2);
    s = reduce(s, { event: 'call_ended', call: answered(3), reason: { kind: 'remote_hangup' }, message: 'p3 hung up' }, 6_000);
    expect(consultPair(s)?.colleague.id).toBe(2);
    expect(consultPair(endConsult(s))).toBeNull();
  });
});

describe('conference', () => {
  const answered = (id: number, over: Partial<CallInfo> = {}) =>
    call({ id, state: 'answered', answered_at_ms: 2_000, remote_uri: `sip:p${id}@h`, ...over });
  const conference = (parties: number[], joined = true, muted = false): PhoneEvent => ({
    event: 'conference',
    parties,
    joined,
    muted,
    message: parties.length ? `in conference with ${parties.map((p) => `call ${p}`).join(', ')}` : 'the conference is over',
  });
  const member = (id: number, over: Partial<CallInfo> = {}) => answered(id, { conference: true, ...over });

  it('keeps the parties, whether the user is in it and muted; its calls leave the cards and the parked list', () => {
    let s = run([
      { event: 'call_updated', call: answered(1, { parked_since_ms: 3_000 }) },
      { event: 'call_updated', call: answered(2, { active: true }) },
      { event: 'call_updated', call: answered(3, { parked_since_ms: 4_000 }) },
    ]);
    expect(canMerge(s)).toBe(true);
    s = run([{ event: 'call_updated', call: member(2) }, { event: 'call_updated', call: member(1) }, conference([2, 1])], s);
    expect(s.conference).toEqual({ parties: [2, 1], joined: true, muted: false });
    expect(conferenceParties(s).map((c) => c.id)).toEqual([2, 1]);
    expect(inConference(s, s.calls[1])).toBe(true);
    expect(inConference(s, s.calls[3])).toBe(false);
    expect(activeCalls(s)).toEqual([]);
    expect(parkedCalls(s).map((c) => c.id)).toEqual([3]);
    // The microphone goes to the whole conference, not one call; a parked call can join it.
    expect(currentCall(s)).toBeNull();
    expect(canMerge(s)).toBe(true);
    expect(answerParksLabel(s)).toBe('Answering parks the conference');

    s = reduce(s, conference([2, 1], true, true), 0);
    expect(s.conference?.muted).toBe(true);
  });

  it('a parked conference keeps its calls on its card; over, they are plain calls again', () => {
    let s = run([
      { event: 'call_updated', call: member(1, { parked_since_ms: 5_000 }) },
      { event: 'call_updated', call: member(2, { parked_since_ms: 5_000 }) },
      conference([1, 2], false),
      { event: 'call_updated', call: answered(3, { active: true }) },
    ]);
    expect(s.conference?.joined).toBe(false);
    expect(parkedCalls(s)).toEqual([]);
    expect(activeCalls(s).map((c) => c.id)).toEqual([3]);
    expect(currentCall(s)?.id).toBe(3);
    expect(answerParksLabel(s)).toBe('Answering parks p3@h');

    // Party 1 taken aside: down to one call, the conference is over.
    s = run([{ event: 'call_updated', call: answered(1, { parked_since_ms: 9_000 }) }, { event: 'call_updated', call: answered(2, { parked_since_ms: 5_000 }) }, conference([])], s);
    expect(s.conference).toBeNull();
    expect(conferenceParties(s)).toEqual([]);
    expect(parkedCalls(s).map((c) => c.id)).toEqual([2, 1]);
  });

  it('a party that ended shows its ended card, not a place on the conference card', () => {
    let s = run([
      { event: 'call_updated', call: member(1) },
      { event: 'call_updated', call: member(2) },
      { event: 'call_updated', call: member(3) },
      conference([1, 2, 3]),
    ]);
    s = reduce(s, { event: 'call_ended', call: member(2), reason: { kind: 'remote_hangup' }, message: 'p2 hung up' }, 7_000);
    expect(conferenceParties(s).map((c) => c.id)).toEqual([1, 3]);
    expect(activeCalls(s).map((c) => c.id)).toEqual([2]);
    expect(activeCalls(s)[0].endedMessage).toBe('p2 hung up');
  });

  it('a consultation merged into the conference is over; an unrelated conference keeps it', () => {
    let s = run([
      { event: 'call_updated', call: answered(1, { parked_since_ms: 3_000 }) },
      { event: 'call_updated', call: answered(2, { active: true }) },
      { event: 'call_updated', call: answered(3, { parked_since_ms: 1_000 }) },
      { event: 'call_updated', call: answered(4, { parked_since_ms: 1_000 }) },
    ]);
    s = startConsult(s, 1, 2);
    expect(reduce(s, conference([3, 4], false), 0).consult).toEqual({ caller: 1, colleague: 2 });
    s = reduce(s, conference([2, 1]), 0);
    expect(s.consult).toBeNull();
    expect(consultPair(s)).toBeNull();
  });

  it('keeps the latest levels while the user is in it; parked or over, they are cleared', () => {
    const levels = (...l: [number | null, number][]): PhoneEvent => ({
      event: 'conference_levels',
      levels: l.map(([call_id, dbfs]) => ({ call_id, dbfs })),
    });
    let s = run([{ event: 'call_updated', call: member(1) }, { event: 'call_updated', call: member(2) }]);
    // No conference yet: a stray report is ignored.
    expect(reduce(s, levels([null, -20]), 0).conferenceLevels).toBeNull();
    s = run([conference([1, 2]), levels([null, -20], [1, -30.5], [2, -96])], s);
    expect(s.conferenceLevels).toEqual({ me: -20, parties: { 1: -30.5, 2: -96 } });
    // The next report replaces the last one whole (a party that left is not kept).
    s = reduce(s, levels([null, -40], [2, -10]), 0);
    expect(s.conferenceLevels).toEqual({ me: -40, parties: { 2: -10 } });
    // Muting someone keeps the meters.
    s = reduce(s, conference([1, 2], true, true), 0);
    expect(s.conferenceLevels?.me).toBe(-40);
    // Parked: cleared, and late reports are dropped until the user is back.
    const parked = reduce(s, conference([1, 2], false), 0);
    expect(parked.conferenceLevels).toBeNull();
    expect(reduce(parked, levels([null, -5]), 0).conferenceLevels).toBeNull();
    // Over: cleared.
    expect(reduce(s, conference([]), 0).conferenceLevels).toBeNull();
    // The input is not mutated (pure).
    expect(s.conferenceLevels).toEqual({ me: -40, parties: { 2: -10 } });
  });

  it('maps dBFS to a meter width: -60 and below empty, 0 full', () => {
    expect(levelPercent(-96)).toBe(0);
    expect(levelPercent(-60)).toBe(0);
    expect(levelPercent(-30)).toBe(50);
    expect(levelPercent(0)).toBe(100);
    expect(levelPercent(3)).toBe(100);
    expect(levelPercent(null)).toBe(0);
    expect(levelPercent(Number.NaN)).toBe(0);
  });

  it('is read back from the calls when the window (re)loads', () => {
    const s = withCalls(initialState, [member(1), member(2), answered(3, { parked_since_ms: 1_000 })]);
    expect(s.conference).toEqual({ parties: [1, 2], joined: true, muted: false });
    const parked = withCalls(initialState, [member(1, { parked_since_ms: 1_000 }), member(2, { parked_since_ms: 1_000 })]);
    expect(parked.conference?.joined).toBe(false);
    expect(withCalls(initialState, [answered(1)]).conference).toBeNull();
  });
});

describe('transfer progress', () => {
  it('is news while it goes and a problem only when it fails', () => {
    const progress = (state: 'trying' | 'connected'): PhoneEvent => ({ event: 'transfer', call_id: 1, target: 'sip:c@h', progress: { state }, message: `call 1: ${state}` });
    let s = run([progress('trying'), progress('connected')]);
    expect(s.notice).toBe('call 1: connected');
    expect(s.warning).toBeNull();
    s = reduce(s, { event: 'transfer', call_id: 1, target: 'sip:c@h', progress: { state: 'failed', status: 486, reason: 'Busy Here' }, message: 'transfer failed (486 Busy Here)' }, 0);
    expect(s.warning).toBe('transfer failed (486 Busy Here)');
    expect(s.notice).toBeNull();
  });
});

describe('transfer requests', () => {
  const answered = (id: number, over: Partial<CallInfo> = {}) =>
    call({ id, state: 'answered', answered_at_ms: 2_000, remote_uri: `sip:p${id}@h`, ...over });
  const request = (id: number): PhoneEvent => ({
    event: 'transfer_request',
    call_id: id,
    target: 'sip:carol@h',
    who: `sip:p${id}@h`,
    expires_in_secs: 30,
    message: `sip:p${id}@h asks to transfer call ${id} to sip:carol@h: accept or decline within 30 s`,
  });
  const declined = (id: number, message: string): PhoneEvent => ({
    event: 'transfer',
    call_id: id,
    target: 'sip:carol@h',
    progress: { state: 'failed', status: 603, reason: 'Declined' },
    message,
  });

  it('waits for an answer until it expires, counting the seconds down', () => {
    let s = reduce(initialState, { event: 'call_updated', call: answered(1) }, 0);
    s = reduce(s, request(1), 100_000);
    expect(s.transferRequests[1]).toEqual({ call_id: 1, target: 'sip:carol@h', who: 'sip:p1@h', expiresAt: 130_000, expiresInSecs: 30, answered: false });
    expect(pendingTransferRequests(s, 100_000).map((r) => r.call_id)).toEqual([1]);
    expect(transferRequestSecondsLeft(s.transferRequests[1], 100_000)).toBe(30);
    // The window's clock ticks every half second: read just before the event arrived, still 30.
    expect(transferRequestSecondsLeft(s.transferRequests[1], 99_600)).toBe(30);
    expect(transferRequestSecondsLeft(s.transferRequests[1], 100_400)).toBe(30);
    expect(transferRequestSecondsLeft(s.transferRequests[1], 129_001)).toBe(1);
    // Expired: no prompt any more, even before the engine's decline arrives.
    expect(pendingTransferRequests(s, 130_000)).toEqual([]);
    expect(transferRequestSecondsLeft(s.transferRequests[1], 131_000)).toBe(0);
    // The engine's decline on the time-out: news (the call stays), not a problem.
    s = reduce(s, declined(1, 'the transfer of call 1 was not answered in 30 s: sip:p1@h was told no, and the call stays here'), 130_050);
    expect(s.transferRequests).toEqual({});
    expect(s.warning).toBeNull();
    expect(s.notice).toContain('not answered in 30 s');
  });

  it('answered: the prompt goes at once, the request when the engine reports the outcome', () => {
    let s = run([{ event: 'call_updated', call: answered(1) }, { event: 'call_updated', call: answered(2, { parked_since_ms: 5_000 }) }, request(1), request(2)]);
    expect(pendingTransferRequests(s, 12_000).map((r) => r.call_id)).toEqual([1, 2]);
    s = answerTransferRequest(s, 1);
    expect(s.transferRequests[1].answered).toBe(true);
    expect(pendingTransferRequests(s, 12_000).map((r) => r.call_id)).toEqual([2]);
    // Accepted: the engine calls the target (trying).
    s = reduce(s, { event: 'transfer', call_id: 1, target: 'sip:carol@h', progress: { state: 'trying' }, message: 'sip:p1@h transfers call 1 here: calling sip:carol@h (call 3)' }, 13_000);
    expect(s.transferRequests[1]).toBeUndefined();
    expect(s.notice).toBe('sip:p1@h transfers call 1 here: calling sip:carol@h (call 3)');
    // Declined by the user.
    s = reduce(answerTransferRequest(s, 2), declined(2, 'you declined the transfer of call 2: sip:p2@h was told no, and the call stays here'), 14_000);
    expect(s.transferRequests).toEqual({});
    expect(s.warning).toBeNull();
    expect(s.notice).toContain('you declined the transfer of call 2');
    // Answering a request the state does not have changes nothing.
    expect(answerTransferRequest(s, 9)).toBe(s);
  });

  it('comes back with its call when the window is reloaded, counting down to the engine\'s deadline', () => {
    const waiting = { target: 'sip:carol@h', who: 'sip:p1@h', expires_at_ms: 130_000, expires_in_secs: 30 };
    // A fresh window (nothing known) reads the engine's calls: the request is there again.
    let s = withCalls(initialState, [answered(1, { transfer_request: waiting }), answered(2)]);
    expect(s.transferRequests).toEqual({ 1: { call_id: 1, target: 'sip:carol@h', who: 'sip:p1@h', expiresAt: 130_000, expiresInSecs: 30, answered: false } });
    expect(pendingTransferRequests(s, 112_000).map((r) => r.call_id)).toEqual([1]);
    expect(transferRequestSecondsLeft(s.transferRequests[1], 112_000)).toBe(18);
    // Answered just before a reload: it stays answered (no second prompt) while the engine
    // still lists it or until its `transfer` event closes it; one no longer listed and not
    // answered is gone.
    s = answerTransferRequest(s, 1);
    s = withCalls(s, [answered(1, { transfer_request: waiting })]);
    expect(pendingTransferRequests(s, 112_000)).toEqual([]);
    s = withCalls(s, [answered(1)]);
    expect(s.transferRequests[1].answered).toBe(true);
    s = withCalls(run([{ event: 'call_updated', call: answered(3) }, request(3)]), [answered(3)]);
    expect(s.transferRequests).toEqual({});
  });

  it('is forgotten when its call ends or the answer is refused; other transfers keep their tone', () => {
    let s = run([{ event: 'call_updated', call: answered(1) }, { event: 'call_updated', call: answered(2) }, request(1), request(2)]);
    s = reduce(s, { event: 'call_ended', call: answered(1), reason: { kind: 'remote_hangup' }, message: 'p1 hung up' }, 20_000);
    expect(Object.keys(s.transferRequests)).toEqual(['2']);
    expect(pendingTransferRequests(s, 20_000).map((r) => r.call_id)).toEqual([2]);
    expect(forgetTransferRequest(s, 2).transferRequests).toEqual({});
    // Our own transfer of a call with no request waiting: a failure is still a problem.
    s = reduce(s, declined(5, 'transfer of call 5 to sip:carol@h failed (603 Declined); the call is still here'), 21_000);
    expect(s.warning).toBe('transfer of call 5 to sip:carol@h failed (603 Declined); the call is still here');
    expect(s.transferRequests[2]).toBeDefined();
  });
});
