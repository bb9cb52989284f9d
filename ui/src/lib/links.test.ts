import { describe, expect, it } from 'vitest';
import {
  cancelLink,
  confirmLink,
  followLinkCall,
  linkDialFailed,
  linkDialled,
  linkReadiness,
  noLinks,
  receiveLink,
  registrationSettled,
  type LinkContext,
  type Readiness,
} from './links';
import type { CallView } from './state';
import type { LinkCall, LinkRequest } from './types';

const berlin: LinkCall = { target: '+4930123', label: '+49 30 123' };
const bob: LinkCall = { target: 'sip:bob@example.com', label: 'sip:bob@example.com' };
const link = (call: LinkCall): LinkRequest => ({ kind: 'call', call });
const ready: Readiness = { state: 'ready' };
const asking: LinkContext = { readiness: ready, ask: true, inCall: false };
const direct: LinkContext = { readiness: ready, ask: false, inCall: false };

function call(id: number, state: CallView['state']): CallView {
  return {
    id,
    state,
    direction: 'outgoing',
    remote_uri: 'sip:x@y',
    remote_display_name: null,
  } as unknown as CallView;
}

describe('a link arriving', () => {
  it('asks first when the setting is on, and dials only on Call', () => {
    const asked = receiveLink(noLinks, link(berlin), asking);
    expect(asked).toEqual({ state: { ...noLinks, pending: berlin }, dial: null, warning: null });
    const confirmed = confirmLink(asked.state, ready);
    expect(confirmed.dial).toEqual(berlin);
    expect(confirmed.state).toEqual({ held: null, pending: null, dialling: { call: berlin, id: null } });
  });

  it('Cancel dials nothing and frees the bar', () => {
    const asked = receiveLink(noLinks, link(berlin), asking);
    const cancelled = cancelLink(asked.state);
    expect(cancelled).toEqual(noLinks);
    expect(confirmLink(cancelled, ready).dial).toBeNull();
  });

  it('dials at once with the setting off, but still asks during a call', () => {
    const now = receiveLink(noLinks, link(berlin), direct);
    expect(now.dial).toEqual(berlin);
    expect(now.state.dialling).toEqual({ call: berlin, id: null });
    const during = receiveLink(noLinks, link(berlin), { ...direct, inCall: true });
    expect(during.dial).toBeNull();
    expect(during.state.pending).toEqual(berlin);
  });

  it('shows the sentence of a link the shell refused and dials nothing', () => {
    const refused = receiveLink(noLinks, { kind: 'refused', message: '“12ab” is not a phone number: it has letters in it.' }, asking);
    expect(refused.dial).toBeNull();
    expect(refused.state).toEqual(noLinks);
    expect(refused.warning).toBe('Link not called: “12ab” is not a phone number: it has letters in it.');
  });

  it('refuses while not registered, with the reason, and dials nothing', () => {
    const failed = linkReadiness(true, true, { state: 'failed', message: 'registration refused (403)', status: 403 });
    const out = receiveLink(noLinks, link(berlin), { ...asking, readiness: failed });
    expect(out.dial).toBeNull();
    expect(out.state).toEqual(noLinks);
    expect(out.warning).toBe('Not registered (registration refused (403)): +49 30 123 was not called. Open the link again once Hookflash can call.');
    const none = receiveLink(noLinks, link(berlin), { ...asking, readiness: linkReadiness(false, true, { state: 'unregistered' }) });
    expect(none.warning).toMatch(/^No account is set up yet: \+49 30 123 was not called/);
  });

  it('knows when calls can go out', () => {
    expect(linkReadiness(true, true, { state: 'registered', expires_in: 600 })).toEqual(ready);
    // An account that does not register calls directly: always ready.
    expect(linkReadiness(true, false, { state: 'unregistered' })).toEqual(ready);
    expect(linkReadiness(true, true, { state: 'registering' })).toEqual({ state: 'wait' });
    expect(linkReadiness(true, true, { state: 'unregistered' })).toEqual({ state: 'refuse', reason: 'Not registered' });
    expect(linkReadiness(true, true, { state: 'retrying', message: 'registrar unreachable', in_secs: 3 })).toEqual({
      state: 'refuse',
      reason: 'Not registered (registrar unreachable)',
    });
  });

  it('waits for a first registration under way, then goes on or is refused', () => {
    const wait: LinkContext = { ...asking, readiness: { state: 'wait' } };
    const held = receiveLink(noLinks, link(berlin), wait);
    expect(held).toEqual({ state: { ...noLinks, held: berlin }, dial: null, warning: null });
    expect(registrationSettled(held.state, wait).state).toEqual(held.state);
    const asked = registrationSettled(held.state, asking);
    expect(asked.state).toEqual({ ...noLinks, pending: berlin });
    const refused = registrationSettled(held.state, { ...asking, readiness: { state: 'refuse', reason: 'Not registered' } });
    expect(refused.state).toEqual(noLinks);
    expect(refused.dial).toBeNull();
    expect(refused.warning).toContain('+49 30 123 was not called');
    expect(registrationSettled(noLinks, asking)).toEqual({ state: noLinks, dial: null, warning: null });
  });

  it('does not dial when registration was lost while the bar waited', () => {
    const asked = receiveLink(noLinks, link(berlin), asking);
    const out = confirmLink(asked.state, { state: 'refuse', reason: 'Not registered' });
    expect(out.dial).toBeNull();
    expect(out.state).toEqual(noLinks);
    expect(out.warning).toMatch(/^Not registered: \+49 30 123 was not called/);
  });
});

describe('a second link', () => {
  it('is refused while the first waits for Call or Cancel; the bar keeps the first', () => {
    const asked = receiveLink(noLinks, link(berlin), asking);
    const second = receiveLink(asked.state, link(bob), asking);
    expect(second.dial).toBeNull();
    expect(second.state).toEqual(asked.state);
    expect(second.warning).toBe(
      'sip:bob@example.com was not called: the link to +49 30 123 is waiting for your answer. Finish with that one, then open the link again.',
    );
  });

  it('is refused while the first link’s call is dialling, and taken once it is answered or ended', () => {
    let state = confirmLink(receiveLink(noLinks, link(berlin), asking).state, ready).state;
    state = linkDialled(state, 7);
    const second = receiveLink(state, link(bob), direct);
    expect(second.dial).toBeNull();
    expect(second.warning).toContain('the link to +49 30 123 is being dialled');
    expect(followLinkCall(state, { 7: call(7, 'calling') })).toBe(state);
    expect(followLinkCall(state, { 7: call(7, 'ringing') })).toBe(state);
    const answered = followLinkCall(state, { 7: call(7, 'answered') });
    expect(answered).toEqual(noLinks);
    expect(receiveLink(answered, link(bob), asking).state.pending).toEqual(bob);
    expect(followLinkCall(state, { 7: call(7, 'ended') })).toEqual(noLinks);
    expect(followLinkCall(state, {})).toEqual(noLinks);
  });

  it('is taken again after a failed dial', () => {
    const dialling = receiveLink(noLinks, link(berlin), direct).state;
    // Until dial returns there is no call to follow: still dialling.
    expect(followLinkCall(dialling, {})).toBe(dialling);
    const failed = linkDialFailed(dialling);
    expect(failed).toEqual(noLinks);
    expect(receiveLink(failed, link(bob), direct).dial).toEqual(bob);
  });
});
