// The call the window's tests start from: an answered outgoing call from alice to Bob, every
// field given; each test overrides what it is about.
import type { CallView } from './state';

export const callView = (over: Partial<CallView> = {}): CallView => ({
  id: 1,
  direction: 'outgoing',
  state: 'answered',
  remote_uri: 'sip:bob@127.0.0.1:5070',
  remote_display_name: 'Bob',
  codec: 'pcmu',
  muted: false,
  started_at_ms: 0,
  answered_at_ms: 1_000,
  active: false,
  parked_since_ms: null,
  held_by_remote: false,
  account: 'sip:alice@127.0.0.1',
  routing: null,
  encrypted: false,
  conference: false,
  conference_muted: false,
  ...over,
});
