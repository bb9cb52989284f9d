import { afterEach, describe, expect, it } from 'vitest';
import { callAnnouncements, callPhase, phaseAnnouncement, regionTexts } from './announce';
import { setLanguage } from './i18n.svelte';
import type { CallView } from './state';
import { callView } from './test_calls';

const call = (over: Partial<CallView> = {}): CallView =>
  callView({ direction: 'incoming', state: 'ringing', answered_at_ms: null, ...over });

afterEach(() => setLanguage('system'));

describe('call phases', () => {
  it('tells an incoming ring from an outgoing one, and parked and held from connected', () => {
    expect(callPhase(call())).toBe('incoming');
    expect(callPhase(call({ direction: 'outgoing' }))).toBe('ringing');
    expect(callPhase(call({ direction: 'outgoing', state: 'calling' }))).toBe('calling');
    expect(callPhase(call({ state: 'answered' }))).toBe('connected');
    expect(callPhase(call({ state: 'answered', parked_since_ms: 5 }))).toBe('parked');
    expect(callPhase(call({ state: 'answered', held_by_remote: true }))).toBe('held');
    // Parked by us wins over held by the far end: we hold it either way.
    expect(callPhase(call({ state: 'answered', held_by_remote: true, parked_since_ms: 5 }))).toBe('parked');
    expect(callPhase(call({ state: 'ended' }))).toBe('ended');
  });
});

describe('announcements', () => {
  it('interrupts for an incoming call only; everything else waits politely', () => {
    expect(phaseAnnouncement(call(), 'incoming')).toEqual({ text: 'Incoming call from Bob', politeness: 'assertive' });
    expect(phaseAnnouncement(call(), 'connected')).toEqual({ text: 'Connected to Bob', politeness: 'polite' });
    expect(phaseAnnouncement(call(), 'parked')).toEqual({ text: 'Bob is parked', politeness: 'polite' });
    expect(phaseAnnouncement(call(), 'held')).toEqual({ text: 'Bob put the call on hold', politeness: 'polite' });
    expect(phaseAnnouncement(call(), 'ringing')).toEqual({ text: 'Bob is ringing', politeness: 'polite' });
    expect(phaseAnnouncement(call(), 'calling')).toEqual({ text: 'Calling Bob', politeness: 'polite' });
  });

  it('an ended call says why when the engine said it, else who', () => {
    expect(phaseAnnouncement(call({ state: 'ended' }), 'ended').text).toBe('Call with Bob ended');
    expect(phaseAnnouncement(call({ state: 'ended', endedMessage: 'Bob hung up' }), 'ended').text).toBe('Call ended: Bob hung up');
  });

  it('names the caller by address without a display name', () => {
    expect(phaseAnnouncement(call({ remote_display_name: null }), 'incoming').text).toBe('Incoming call from bob@127.0.0.1:5070');
  });

  it('follows the window language', () => {
    setLanguage('de');
    expect(phaseAnnouncement(call(), 'incoming').text).toBe('Eingehender Anruf von Bob');
    setLanguage('es');
    expect(phaseAnnouncement(call(), 'parked').text).toBe('Llamada con Bob aparcada');
  });

  it('announces a call once per change of phase, and forgets calls that are gone', () => {
    const ringing = { 1: call() };
    const first = callAnnouncements({}, ringing);
    expect(first.announcements.map((a) => a.text)).toEqual(['Incoming call from Bob']);
    // The same phase again (a timer tick, a quality report): nothing new.
    expect(callAnnouncements(first.phases, ringing).announcements).toEqual([]);

    const answered = callAnnouncements(first.phases, { 1: call({ state: 'answered' }) });
    expect(answered.announcements).toEqual([{ text: 'Connected to Bob', politeness: 'polite' }]);

    // A second caller while Bob is connected; answering parks Bob.
    const carol = call({ id: 2, remote_display_name: 'Carol', started_at_ms: 10 });
    const waiting = callAnnouncements(answered.phases, { 1: call({ state: 'answered' }), 2: carol });
    expect(waiting.announcements).toEqual([{ text: 'Incoming call from Carol', politeness: 'assertive' }]);
    const swapped = callAnnouncements(waiting.phases, {
      1: call({ state: 'answered', parked_since_ms: 20 }),
      2: { ...carol, state: 'answered' },
    });
    expect(swapped.announcements.map((a) => a.text)).toEqual(['Bob is parked', 'Connected to Carol']);

    const gone = callAnnouncements(swapped.phases, { 2: { ...carol, state: 'ended' } });
    expect(gone.announcements.map((a) => a.text)).toEqual(['Call with Carol ended']);
    expect(Object.keys(gone.phases)).toEqual(['2']);
  });

  it('puts each politeness in its own region', () => {
    expect(
      regionTexts([
        { text: 'Bob is parked', politeness: 'polite' },
        { text: 'Incoming call from Carol', politeness: 'assertive' },
        { text: 'Connected to Dave', politeness: 'polite' },
      ]),
    ).toEqual({ polite: 'Bob is parked. Connected to Dave', assertive: 'Incoming call from Carol' });
  });
});
