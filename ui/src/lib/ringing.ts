// The ringing window (src-tauri/src/ringing.rs opens it as `index.html?ringing=<call id>`): which
// call it shows, and what it says about it. Pure, unit-tested.

import type { CallId, CallInfo } from './types';
import { remoteLabel } from './format';
import { routingKind } from './state';

/** The call id of a ringing window's address (`?ringing=7`); null for the main window. */
export function ringingCallId(search: string): CallId | null {
  const value = new URLSearchParams(search).get('ringing');
  if (value === null || !/^\d+$/.test(value)) return null;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : null;
}

/** What the ringing window shows of a call. */
export interface RingingView {
  name: string;
  /** The caller's address, when the name is not already it. */
  number: string | null;
  /** "Queue call", "Direct call" (routing rules); null when the rules did not say. */
  reason: string | null;
  /** The routing summary in full (for the tooltip). */
  routing: string | null;
}

export function ringingView(call: Pick<CallInfo, 'remote_display_name' | 'remote_uri' | 'routing'>): RingingView {
  const name = remoteLabel(call.remote_display_name, call.remote_uri);
  const bare = remoteLabel(null, call.remote_uri);
  return {
    name,
    number: name === bare ? null : bare,
    reason: routingKind(call.routing),
    routing: call.routing ?? null,
  };
}

/** Whether the window still has a call to act on. */
export function stillRinging(call: Pick<CallInfo, 'state' | 'direction'> | undefined): boolean {
  return call !== undefined && call.direction === 'incoming' && call.state === 'ringing';
}
