// What a screen reader is told when a call changes: the sentence for each call's new phase
// (ringing, connected, on hold, parked, ended) and how urgently (an incoming call interrupts,
// the rest waits politely). Pure, so the choice is unit-tested without a window.

import type { CallId } from './types';
import { isParked, type CallView } from './state';
import { remoteLabel } from './format';
import { m } from './i18n.svelte';

/** A call's phase as far as announcements go: one sentence each time it changes. */
export type CallPhase = 'calling' | 'ringing' | 'incoming' | 'connected' | 'held' | 'parked' | 'ended';

export type Politeness = 'polite' | 'assertive';

export interface Announcement {
  text: string;
  politeness: Politeness;
}

export function callPhase(call: CallView): CallPhase {
  switch (call.state) {
    case 'calling':
      return 'calling';
    case 'ringing':
      return call.direction === 'incoming' ? 'incoming' : 'ringing';
    case 'answered':
      if (isParked(call)) return 'parked';
      if (call.held_by_remote) return 'held';
      return 'connected';
    case 'ended':
      return 'ended';
  }
}

/** The sentence for a call entering `phase`. */
export function phaseAnnouncement(call: CallView, phase: CallPhase): Announcement {
  const name = remoteLabel(call.remote_display_name, call.remote_uri);
  switch (phase) {
    case 'incoming':
      return { text: m.a11y_incoming_call({ name }), politeness: 'assertive' };
    case 'calling':
      return { text: m.a11y_calling({ name }), politeness: 'polite' };
    case 'ringing':
      return { text: m.a11y_ringing({ name }), politeness: 'polite' };
    case 'connected':
      return { text: m.a11y_connected({ name }), politeness: 'polite' };
    case 'held':
      return { text: m.a11y_held({ name }), politeness: 'polite' };
    case 'parked':
      return { text: m.a11y_parked({ name }), politeness: 'polite' };
    case 'ended':
      return {
        text: call.endedMessage ? m.a11y_ended_because({ message: call.endedMessage }) : m.a11y_ended({ name }),
        politeness: 'polite',
      };
  }
}

/**
 * Compares the calls with the phases last announced: returns the new phases (calls gone from
 * the view are forgotten) and the sentences for every call whose phase changed, oldest call
 * first. A call seen for the first time is announced too (a new incoming or outgoing call).
 */
export function callAnnouncements(
  previous: Record<CallId, CallPhase>,
  calls: Record<CallId, CallView>,
): { phases: Record<CallId, CallPhase>; announcements: Announcement[] } {
  const phases: Record<CallId, CallPhase> = {};
  const announcements: Announcement[] = [];
  const ordered = Object.values(calls).sort((a, b) => a.started_at_ms - b.started_at_ms);
  for (const call of ordered) {
    const phase = callPhase(call);
    phases[call.id] = phase;
    if (previous[call.id] !== phase) announcements.push(phaseAnnouncement(call, phase));
  }
  return { phases, announcements };
}

/** The text each live region gets for a batch: one region per politeness, sentences joined. */
export function regionTexts(announcements: Announcement[]): Record<Politeness, string> {
  const join = (p: Politeness) =>
    announcements
      .filter((a) => a.politeness === p)
      .map((a) => a.text)
      .join('. ');
  return { polite: join('polite'), assertive: join('assertive') };
}
