import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render } from '@testing-library/svelte';
import CallCard from './CallCard.svelte';
import IncomingCard from './IncomingCard.svelte';
import HistoryList from './HistoryList.svelte';
import Dialpad from './Dialpad.svelte';
import ParkedList from './ParkedList.svelte';
import RoutingForm from './RoutingForm.svelte';
import ConsultBar from './ConsultBar.svelte';
import ConferenceCard from './ConferenceCard.svelte';
import TransferRequestBar from './TransferRequestBar.svelte';
import { CALL_DRAG_TYPE } from '../lib/drag';
import type { CallView } from '../lib/state';
import type { HistoryEntry, RoutingSettings } from '../lib/types';
import { callView } from '../lib/test_calls';

const HOSTILE = '<img src=x onerror=alert(1)>';

const call = callView;

const noop = () => {};

afterEach(() => cleanup());

describe('long names and addresses', () => {
  const LONG_NAME = 'Bartholomew Fitzgerald-Montgomery of Accounts Receivable, Northern Region';
  const LONG_URI = 'sip:bartholomew.fitzgerald-montgomery.accounts-receivable@pbx.northern-region.example.com;transport=tls';
  /** Every element showing `text` is cut to one line with "…" and carries it whole as its title. */
  const truncated = (container: HTMLElement, text: string) => {
    const shown = [...container.querySelectorAll<HTMLElement>('.truncate')].filter((el) => el.textContent === text);
    expect(shown.length, `no one-line element shows ${text}`).toBeGreaterThan(0);
    for (const el of shown) expect(el.title).toBe(text);
  };

  it('are one line, cut with the whole value on hover: call, incoming, parked and conference cards', () => {
    const long = { remote_display_name: LONG_NAME, remote_uri: LONG_URI };
    let { container } = render(CallCard, { call: call(long), now: 0, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop });
    truncated(container, LONG_NAME);
    truncated(container, LONG_URI);
    cleanup();
    ({ container } = render(IncomingCard, { call: call({ ...long, direction: 'incoming', state: 'ringing' }), now: 0, onAnswer: noop, onDecline: noop }));
    truncated(container, LONG_NAME);
    truncated(container, LONG_URI);
    cleanup();
    ({ container } = render(ParkedList, { calls: [call({ ...long, id: 3, parked_since_ms: 1_000, account: LONG_URI })], now: 2_000, recallMs: 60_000, onSwitch: noop, onHangup: noop }));
    truncated(container, LONG_NAME);
    truncated(container, LONG_URI);
    cleanup();
    const party = call({ ...long, id: 4, conference: true });
    ({ container } = render(ConferenceCard, {
      parties: [party, call({ id: 5, conference: true })],
      joined: true,
      muted: false,
      now: 0,
      onMuteParty: noop,
      onAside: noop,
      onHangup: noop,
      onMuteMe: noop,
      onLeave: noop,
      onEnd: noop,
      onReturn: noop,
    }));
    truncated(container, LONG_NAME);
    truncated(container, LONG_URI);
  });
});

describe('remote names are text, never HTML', () => {
  it('call card', () => {
    const { getByTestId, container } = render(CallCard, {
      call: call({ remote_display_name: HOSTILE, remote_uri: `sip:${HOSTILE}@evil` }),
      now: 66_000,
      onHangup: noop,
      onMute: noop,
      onDtmf: noop,
      onDismiss: noop,
    });
    expect(container.querySelector('img')).toBeNull();
    expect(getByTestId('call-remote').textContent).toContain(HOSTILE);
    expect(getByTestId('call-state').textContent).toBe('Connected');
    expect(getByTestId('call-timer').textContent).toBe('1:05');
  });

  it('incoming card', () => {
    const { getByTestId, container } = render(IncomingCard, {
      call: call({ direction: 'incoming', state: 'ringing', remote_display_name: HOSTILE }),
      now: 0,
      onAnswer: noop,
      onDecline: noop,
    });
    expect(container.querySelector('img')).toBeNull();
    expect(getByTestId('incoming-card').textContent).toContain(HOSTILE);
  });

  it('history list', () => {
    const entry: HistoryEntry = {
      id: 1,
      direction: 'incoming',
      account: 'sip:alice@example.com',
      remote_uri: 'sip:x@example.com',
      remote_display_name: HOSTILE,
      started_at_ms: 0,
      answered_at_ms: 1_000,
      ended_at_ms: 11_000,
      outcome: 'answered',
      sip_status: 200,
      codec: 'pcmu',
      routing: null,
      quality: null,
      end_message: null,
    };
    const { getAllByTestId, container } = render(HistoryList, { entries: [entry], now: 0, onCall: noop });
    expect(container.querySelector('img')).toBeNull();
    const rows = getAllByTestId('history-row');
    expect(rows).toHaveLength(1);
    expect(rows[0].textContent).toContain(HOSTILE);
    expect(rows[0].textContent).toContain('0:10');
  });
});

describe('call card controls', () => {
  it('hang up, mute and DTMF call back with the right values', async () => {
    const onHangup = vi.fn();
    const onMute = vi.fn();
    const onDtmf = vi.fn();
    const { getByTestId } = render(CallCard, { call: call(), now: 2_000, onHangup, onMute, onDtmf, onDismiss: noop });
    await fireEvent.click(getByTestId('dtmf-key-star'));
    await fireEvent.click(getByTestId('dtmf-key-1'));
    await fireEvent.click(getByTestId('mute-button'));
    await fireEvent.click(getByTestId('hangup-button'));
    expect(onDtmf.mock.calls).toEqual([['*'], ['1']]);
    expect(onMute).toHaveBeenCalledWith(true);
    expect(onHangup).toHaveBeenCalledOnce();
  });

  it('an encrypted call shows a lock, a clear one a warning', () => {
    const props = { now: 2_000, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop };
    const secure = render(CallCard, { call: call({ encrypted: true }), ...props });
    expect(secure.getByTestId('call-encrypted').textContent).toContain('Encrypted');
    expect(secure.queryByTestId('call-unencrypted')).toBeNull();
    cleanup();
    const clear = render(CallCard, { call: call({ encrypted: false }), ...props });
    expect(clear.getByTestId('call-unencrypted').textContent).toContain('Not encrypted');
    expect(clear.queryByTestId('call-encrypted')).toBeNull();
  });

  it('DTMF keys are disabled until the call is connected', () => {
    const { getByTestId } = render(CallCard, {
      call: call({ state: 'calling', answered_at_ms: null }),
      now: 0,
      onHangup: noop,
      onMute: noop,
      onDtmf: noop,
      onDismiss: noop,
    });
    expect((getByTestId('dtmf-key-5') as HTMLButtonElement).disabled).toBe(true);
    expect(getByTestId('call-state').textContent).toContain('Calling');
  });
});

describe('dial pad', () => {
  it('keys type, Enter dials the normalised number', async () => {
    const onDial = vi.fn();
    const { getByTestId } = render(Dialpad, { onDial });
    const input = getByTestId('dial-input') as HTMLInputElement;
    await fireEvent.input(input, { target: { value: '+1 (555) 01-' } });
    await fireEvent.click(getByTestId('dialpad-key-0'));
    await fireEvent.click(getByTestId('dialpad-key-hash'));
    expect(input.value).toBe('+1 (555) 01-0#');
    await fireEvent.keyDown(input, { key: 'Enter' });
    expect(onDial).toHaveBeenCalledWith('+1555010#');
  });

  it('a caller-ID picker appears for several allowed IDs and the choice goes with the call', async () => {
    const onDial = vi.fn();
    const callerIds = [
      { number: '+442079460958', name: 'Acme Sales' },
      { number: '2001', name: HOSTILE },
    ];
    const { getByTestId, container } = render(Dialpad, { onDial, callerIds });
    const select = getByTestId('caller-id-select') as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual([
      'Account default',
      'Acme Sales (+442079460958)',
      `${HOSTILE} (2001)`,
    ]);
    expect(container.querySelector('img')).toBeNull();
    const input = getByTestId('dial-input') as HTMLInputElement;
    await fireEvent.input(input, { target: { value: '0207 946 0000' } });
    await fireEvent.click(getByTestId('dial-button'));
    expect(onDial).toHaveBeenLastCalledWith('02079460000');
    await fireEvent.change(select, { target: { value: '+442079460958' } });
    await fireEvent.click(getByTestId('dial-button'));
    expect(onDial).toHaveBeenLastCalledWith('02079460000', '+442079460958');
  });

  it('with several accounts a "from" picker chooses the account the call goes out from', async () => {
    const onDial = vi.fn();
    const accounts = [
      { aor: 'sip:alice@pbx.example.com', display_name: 'Alice', registers: true, registration: { state: 'registered' as const, expires_in: 600 }, public_address: null, outbound: false, keep_alive_secs: null },
      { aor: 'sip:sales@trunk.example.net', display_name: HOSTILE, registers: true, registration: { state: 'unregistered' as const }, public_address: null, outbound: false, keep_alive_secs: null },
    ];
    const { getByTestId, container } = render(Dialpad, { onDial, accounts });
    const select = getByTestId('from-account-select') as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual([
      'Alice (sip:alice@pbx.example.com)',
      `${HOSTILE} (sip:sales@trunk.example.net)`,
    ]);
    expect(container.querySelector('img')).toBeNull();
    await fireEvent.input(getByTestId('dial-input') as HTMLInputElement, { target: { value: '2001' } });
    await fireEvent.click(getByTestId('dial-button'));
    expect(onDial).toHaveBeenLastCalledWith('2001');
    await fireEvent.change(select, { target: { value: 'sip:sales@trunk.example.net' } });
    await fireEvent.click(getByTestId('dial-button'));
    expect(onDial).toHaveBeenLastCalledWith('2001', undefined, 'sip:sales@trunk.example.net');
    cleanup();
    const one = render(Dialpad, { onDial: noop, accounts: accounts.slice(0, 1) });
    expect(one.queryByTestId('from-account-select')).toBeNull();
  });

  it('no picker with one allowed caller ID or none', () => {
    const one = render(Dialpad, { onDial: noop, callerIds: [{ number: '2001', name: '' }] });
    expect(one.queryByTestId('caller-id-select')).toBeNull();
    cleanup();
    const none = render(Dialpad, { onDial: noop });
    expect(none.queryByTestId('caller-id-select')).toBeNull();
  });

  it('the call button is disabled while the input is empty', () => {
    const { getByTestId } = render(Dialpad, { onDial: noop });
    expect((getByTestId('dial-button') as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('parked calls', () => {
  const parked = (id: number, name: string, since: number): CallView =>
    call({ id, remote_display_name: name, parked_since_ms: since, account: 'sip:alice@example.com' });

  it('double-click and Enter switch to the call; names are text', async () => {
    const onSwitch = vi.fn();
    const { getAllByTestId, container } = render(ParkedList, {
      calls: [parked(3, HOSTILE, 1_000), parked(5, 'Carol', 50_000)],
      now: 61_000,
      recallMs: 60_000,
      onSwitch,
      onHangup: noop,
    });
    expect(container.querySelector('img')).toBeNull();
    const rows = getAllByTestId('parked-call');
    expect(rows[0].textContent).toContain(HOSTILE);
    expect(getAllByTestId('parked-timer').map((t) => t.textContent)).toEqual(['1:00', '0:11']);
    expect(rows[0].classList.contains('recall')).toBe(true);
    expect(rows[1].classList.contains('recall')).toBe(false);
    await fireEvent.dblClick(rows[1]);
    await fireEvent.keyDown(rows[0], { key: 'Enter' });
    expect(onSwitch.mock.calls).toEqual([[5], [3]]);
  });

  it('incoming card says which call answering parks', () => {
    const { getByTestId } = render(IncomingCard, {
      call: call({ direction: 'incoming', state: 'ringing' }),
      now: 0,
      onAnswer: noop,
      onDecline: noop,
      parksLabel: 'Answering parks Bob',
    });
    expect(getByTestId('answer-parks').textContent).toBe('Answering parks Bob');
  });

  it('call card: park button and call-waiting indicator', async () => {
    const onPark = vi.fn();
    const { getByTestId } = render(CallCard, {
      call: call(),
      now: 2_000,
      onHangup: noop,
      onMute: noop,
      onDtmf: noop,
      onDismiss: noop,
      onPark,
      waiting: 1,
    });
    expect(getByTestId('call-waiting').textContent).toBe('Call waiting');
    await fireEvent.click(getByTestId('park-button'));
    expect(onPark).toHaveBeenCalledOnce();
  });
});

describe('routing settings', () => {
  const settings = (): RoutingSettings => ({
    classify: { queues: ['sales'], queue_header: null, queue_alert_info: [], to_other_than_account_is_queue: false },
    presets: {
      do_not_disturb: { enabled: false, reject_with: 'busy' },
      busy_on_busy: false,
      forward_always: { enabled: false, target: '' },
      forward_no_answer: { enabled: false, target: '', after_secs: 20 },
      business_hours: { enabled: false, hours: ['Mon-Fri 09:00-17:30'], outside: 'reject_decline' },
      auto_answer_intercom: false,
    },
    rules: ['when is_queue then reject_busy', 'when parkd_count > 0 then ring'],
    utc_offset: null,
  });

  it('shows the engine\'s problem next to the rule it is about, and saves cleaned rules', async () => {
    const onSave = vi
      .fn()
      .mockRejectedValueOnce({
        message: 'routing settings not saved: rule 2: unknown variable `parkd_count`',
        problems: [{ rule: 2, field: 'rules[2]', message: 'rule 2: unknown variable `parkd_count` (did you mean `parked_count`?)' }],
      })
      .mockResolvedValueOnce(undefined);
    const { getAllByTestId, getByTestId, findByTestId } = render(RoutingForm, { settings: settings(), onSave, onCancel: noop });
    await fireEvent.submit(getByTestId('routing-form'));
    const problem = await findByTestId('rule-problem');
    expect(problem.textContent).toContain('parked_count');
    // The problem sits in rule 2's row, not rule 1's.
    const rows = getAllByTestId('rule-row');
    expect(rows[1].contains(problem)).toBe(true);
    expect(rows[0].querySelector('[data-testid="rule-problem"]')).toBeNull();
    expect(getAllByTestId('rule-input')[1].getAttribute('aria-invalid')).toBe('true');

    // Fix it, add an empty rule (dropped on save), turn DND on.
    await fireEvent.input(getAllByTestId('rule-input')[1], { target: { value: ' when parked_count > 0 then ring ' } });
    await fireEvent.click(getByTestId('add-rule'));
    await fireEvent.click(getByTestId('preset-dnd'));
    await fireEvent.submit(getByTestId('routing-form'));
    await vi.waitFor(() => expect(onSave).toHaveBeenCalledTimes(2));
    const saved = onSave.mock.calls[1][0] as RoutingSettings;
    expect(saved.rules).toEqual(['when is_queue then reject_busy', 'when parked_count > 0 then ring']);
    expect(saved.presets.do_not_disturb.enabled).toBe(true);
    expect(saved.classify.queues).toEqual(['sales']);
  });
});

describe('call quality on the card', () => {
  it('shows the grade and a warning on a poor line', () => {
    const { getByTestId } = render(CallCard, {
      call: call(),
      now: 2_000,
      onHangup: noop,
      onMute: noop,
      onDtmf: noop,
      onDismiss: noop,
      quality: { mos: 2.8, packets_received: 900, packets_lost: 100, late_packets: 0, concealed_frames: 100, jitter_ms: 8, rtt_ms: null, jitter_buffer_ms: 60 },
    });
    expect(getByTestId('call-quality').getAttribute('data-level')).toBe('poor');
    expect(getByTestId('quality-warning').textContent).toBe('Poor line: 10.0 % lost');
  });
});

describe('transfer', () => {
  it('transfers at once or consults first, with the target typed', async () => {
    const onTransfer = vi.fn();
    const { getByTestId, queryByTestId } = render(CallCard, { call: call(), now: 2_000, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop, onTransfer });
    expect(queryByTestId('transfer-form')).toBeNull();
    await fireEvent.click(getByTestId('transfer-button'));
    expect((getByTestId('transfer-blind') as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(getByTestId('transfer-target'), { target: { value: ' 2001 ' } });
    await fireEvent.click(getByTestId('transfer-consult'));
    expect(onTransfer).toHaveBeenLastCalledWith('2001', true);
    expect(queryByTestId('transfer-form')).toBeNull();
    await fireEvent.click(getByTestId('transfer-button'));
    await fireEvent.input(getByTestId('transfer-target'), { target: { value: 'sip:carol@pbx.example.com' } });
    await fireEvent.click(getByTestId('transfer-blind'));
    expect(onTransfer).toHaveBeenLastCalledWith('sip:carol@pbx.example.com', false);
  });

  it('has no Transfer button before the call is connected', () => {
    const { getByTestId } = render(CallCard, { call: call({ state: 'calling' }), now: 0, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop, onTransfer: noop });
    expect((getByTestId('transfer-button') as HTMLButtonElement).disabled).toBe(true);
  });

  it('the consult bar completes once the colleague answers, or goes back to the caller', async () => {
    const onComplete = vi.fn();
    const onCancel = vi.fn();
    const caller = call({ id: 1, remote_display_name: 'Caller', parked_since_ms: 3_000 });
    const ringing = render(ConsultBar, { caller, colleague: call({ id: 2, state: 'ringing', remote_display_name: 'Carol' }), onComplete, onCancel });
    expect((ringing.getByTestId('consult-complete') as HTMLButtonElement).disabled).toBe(true);
    expect(ringing.getByTestId('consult-bar').textContent).toContain('Consulting Carol');
    cleanup();
    const { getByTestId } = render(ConsultBar, { caller, colleague: call({ id: 2, remote_display_name: HOSTILE }), onComplete, onCancel });
    expect(getByTestId('consult-bar').innerHTML).not.toContain('<img');
    await fireEvent.click(getByTestId('consult-complete'));
    expect(onComplete).toHaveBeenCalledOnce();
    expect(getByTestId('consult-cancel').textContent).toContain('back to Caller');
    await fireEvent.click(getByTestId('consult-cancel'));
    expect(onCancel).toHaveBeenCalledOnce();
  });
});

/** A stand-in for the drag data of a drag and drop (jsdom has no DataTransfer). */
function dragData(carried: Record<string, string> = {}) {
  const data = { ...carried };
  return {
    get types() {
      return Object.keys(data);
    },
    getData: (type: string) => data[type] ?? '',
    setData: (type: string, value: string) => {
      data[type] = value;
    },
    dropEffect: 'none',
    effectAllowed: 'all',
  };
}

describe('conference', () => {
  const party = (id: number, name: string, over: Partial<CallView> = {}) =>
    call({ id, remote_display_name: name, remote_uri: `sip:${name.toLowerCase()}@pbx`, conference: true, ...over });
  const handlers = () => ({
    onMuteParty: vi.fn(),
    onAside: vi.fn(),
    onHangup: vi.fn(),
    onMuteMe: vi.fn(),
    onLeave: vi.fn(),
    onEnd: vi.fn(),
    onHandOver: vi.fn(),
    onReturn: vi.fn(),
    onMergeDrop: vi.fn(),
  });

  it('lists every party with its own controls, in a labelled region', async () => {
    const h = handlers();
    const { getByTestId, getByRole, queryByTestId, container } = render(ConferenceCard, {
      parties: [party(2, 'Bob'), party(1, HOSTILE, { conference_muted: true })],
      joined: true,
      muted: false,
      now: 62_000,
      ...h,
    });
    expect(container.querySelector('img')).toBeNull();
    expect(getByRole('region', { name: 'Conference (2)' })).toBe(getByTestId('conference-card'));
    expect(getByTestId('conference-party-2').textContent).toContain('Bob');
    expect(getByTestId('conference-party-2').textContent).toContain('1:01');
    expect(getByTestId('conference-party-1').textContent).toContain(HOSTILE);
    expect(getByTestId('conference-party-1').textContent).toContain('Muted toward the conference');
    expect(getByTestId('conference-mute-2').getAttribute('aria-pressed')).toBe('false');
    expect(getByTestId('conference-mute-1').getAttribute('aria-pressed')).toBe('true');
    expect(getByRole('button', { name: 'Mute Bob toward the conference' })).toBe(getByTestId('conference-mute-2'));
    await fireEvent.click(getByTestId('conference-mute-2'));
    await fireEvent.click(getByTestId('conference-mute-1'));
    expect(h.onMuteParty.mock.calls).toEqual([[2, true], [1, false]]);
    await fireEvent.click(getByRole('button', { name: 'Take Bob aside (park)' }));
    expect(h.onAside).toHaveBeenCalledWith(2);
    await fireEvent.click(getByTestId('conference-hangup-1'));
    expect(h.onHangup).toHaveBeenCalledWith(1);
    expect(getByTestId('conference-mute-me').getAttribute('aria-pressed')).toBe('false');
    await fireEvent.click(getByTestId('conference-mute-me'));
    expect(h.onMuteMe).toHaveBeenCalledWith(true);
    await fireEvent.click(getByTestId('conference-leave'));
    expect(h.onLeave).toHaveBeenCalledOnce();
    // "End conference for everyone" only once leaving was refused; no Return while in it.
    expect(queryByTestId('conference-end')).toBeNull();
    expect(queryByTestId('conference-return')).toBeNull();
  });

  it('offers to end it for everyone or hand it to one party once leaving was refused', async () => {
    const h = handlers();
    const { getByTestId, getByRole } = render(ConferenceCard, {
      parties: [party(1, 'Bob'), party(2, 'Carol'), party(3, 'Dave')],
      joined: true,
      muted: true,
      now: 0,
      endOffered: true,
      ...h,
    });
    expect(getByTestId('conference-card').textContent).toContain('Conference (3)');
    expect(getByTestId('conference-state').textContent).toContain('you are muted');
    expect(getByTestId('conference-mute-me').getAttribute('aria-pressed')).toBe('true');
    await fireEvent.click(getByTestId('conference-end'));
    expect(h.onEnd).toHaveBeenCalledOnce();
    // One "Hand to" per party, in a group named by its explanation.
    const group = getByRole('group', { name: 'Or hand it to one party, whose phone hosts it from then on:' });
    expect([...group.querySelectorAll('button')].map((b) => b.textContent)).toEqual(['Hand to Bob', 'Hand to Carol', 'Hand to Dave']);
    await fireEvent.click(getByRole('button', { name: 'Hand to Carol' }));
    expect(h.onHandOver).toHaveBeenCalledWith(2);
  });

  it('shows a level meter per party and for the user; a muted one is dimmed', async () => {
    const h = handlers();
    const { getByTestId, getByRole, rerender } = render(ConferenceCard, {
      parties: [party(2, 'Bob'), party(1, 'Carol', { conference_muted: true })],
      joined: true,
      muted: true,
      now: 0,
      levels: { me: -15, parties: { 2: -30, 1: -96 } },
      ...h,
    });
    const bob = getByRole('meter', { name: 'Bob level' });
    expect(bob).toBe(getByTestId('conference-level-2'));
    expect(bob.getAttribute('aria-valuemin')).toBe('-60');
    expect(bob.getAttribute('aria-valuemax')).toBe('0');
    expect(bob.getAttribute('aria-valuenow')).toBe('-30');
    expect(bob.getAttribute('aria-valuetext')).toBe('-30 dBFS');
    expect((bob.firstElementChild as HTMLElement).style.width).toBe('50%');
    expect(bob.classList.contains('dimmed')).toBe(false);
    // Silence is clamped to the bottom; a party muted toward the conference is dimmed.
    const carol = getByRole('meter', { name: 'Carol level' });
    expect(carol.getAttribute('aria-valuenow')).toBe('-60');
    expect((carol.firstElementChild as HTMLElement).style.width).toBe('0%');
    expect(carol.classList.contains('dimmed')).toBe(true);
    // The user's meter, beside "Mute me", dimmed while muted.
    const me = getByRole('meter', { name: 'Your microphone level' });
    expect(me).toBe(getByTestId('conference-level-me'));
    expect(me.parentElement).toBe(getByTestId('conference-mute-me').parentElement);
    expect(me.getAttribute('aria-valuenow')).toBe('-15');
    expect((me.firstElementChild as HTMLElement).style.width).toBe('75%');
    expect(me.classList.contains('dimmed')).toBe(true);
    // The next report moves the bars; over full scale is clamped to full.
    await rerender({ levels: { me: 2, parties: { 2: -45 } } });
    expect(getByTestId('conference-level-me').getAttribute('aria-valuenow')).toBe('0');
    expect((getByTestId('conference-level-me').firstElementChild as HTMLElement).style.width).toBe('100%');
    expect((getByTestId('conference-level-2').firstElementChild as HTMLElement).style.width).toBe('25%');
    // A party not in the report shows empty.
    expect(getByTestId('conference-level-1').getAttribute('aria-valuetext')).toBe('no level yet');
  });

  it('parked: no level meters', () => {
    const { queryByTestId } = render(ConferenceCard, {
      parties: [party(1, 'Bob'), party(2, 'Carol')],
      joined: false,
      muted: false,
      now: 0,
      levels: null,
      ...handlers(),
    });
    expect(queryByTestId('conference-level-me')).toBeNull();
    expect(queryByTestId('conference-level-1')).toBeNull();
  });

  it('parked: everyone hears music, "Return to conference" brings the user back', async () => {
    const h = handlers();
    const { getByTestId, queryByTestId } = render(ConferenceCard, { parties: [party(1, 'Bob'), party(2, 'Carol')], joined: false, muted: false, now: 0, ...h });
    expect(getByTestId('conference-state').textContent).toContain('On hold');
    expect(queryByTestId('conference-leave')).toBeNull();
    expect(queryByTestId('conference-mute-me')).toBeNull();
    await fireEvent.click(getByTestId('conference-return'));
    expect(h.onReturn).toHaveBeenCalledOnce();
  });

  it('a parked call dropped on the card joins it; other drags are not taken', async () => {
    const h = handlers();
    const { getByTestId } = render(ConferenceCard, { parties: [party(1, 'Bob'), party(2, 'Carol')], joined: true, muted: false, now: 0, ...h });
    const card = getByTestId('conference-card');
    const text = dragData({ 'text/plain': 'hello' });
    expect(await fireEvent.dragOver(card, { dataTransfer: text })).toBe(true); // not cancelled: no drop here
    const carried = dragData({ [CALL_DRAG_TYPE]: '7' });
    expect(await fireEvent.dragOver(card, { dataTransfer: carried })).toBe(false);
    expect(card.classList.contains('dropping')).toBe(true);
    await fireEvent.drop(card, { dataTransfer: carried });
    expect(card.classList.contains('dropping')).toBe(false);
    expect(h.onMergeDrop).toHaveBeenCalledWith(7);
    // One of its own parties dropped back is nothing to merge.
    await fireEvent.drop(card, { dataTransfer: dragData({ [CALL_DRAG_TYPE]: '2' }) });
    expect(h.onMergeDrop).toHaveBeenCalledOnce();
  });

  it('the consult bar merges all three once the colleague answers', async () => {
    const onConference = vi.fn();
    const caller = call({ id: 1, remote_display_name: 'Caller', parked_since_ms: 3_000 });
    const ringing = render(ConsultBar, { caller, colleague: call({ id: 2, state: 'ringing' }), onComplete: noop, onCancel: noop, onConference });
    expect((ringing.getByTestId('consult-conference') as HTMLButtonElement).disabled).toBe(true);
    cleanup();
    const { getByTestId } = render(ConsultBar, { caller, colleague: call({ id: 2 }), onComplete: noop, onCancel: noop, onConference });
    expect(getByTestId('consult-conference').textContent).toBe('Conference all');
    await fireEvent.click(getByTestId('consult-conference'));
    expect(onConference).toHaveBeenCalledOnce();
  });

  it('a parked call merges by its button, or dragged onto the active call card', async () => {
    const onMerge = vi.fn();
    const parked = call({ id: 3, remote_display_name: 'Carol', parked_since_ms: 1_000 });
    const list = render(ParkedList, { calls: [parked], now: 2_000, recallMs: 60_000, onSwitch: noop, onHangup: noop, onMerge });
    await fireEvent.click(list.getByRole('button', { name: 'Merge Carol into a conference' }));
    expect(onMerge).toHaveBeenCalledWith(3);
    const row = list.getByTestId('parked-call');
    expect(row.getAttribute('draggable')).toBe('true');
    const drag = dragData();
    await fireEvent.dragStart(row, { dataTransfer: drag });
    expect(drag.getData(CALL_DRAG_TYPE)).toBe('3');
    cleanup();
    // Nothing to merge with: no button, not draggable.
    const alone = render(ParkedList, { calls: [parked], now: 2_000, recallMs: 60_000, onSwitch: noop, onHangup: noop });
    expect(alone.queryByTestId('merge-button')).toBeNull();
    expect(alone.getByTestId('parked-call').getAttribute('draggable')).toBeNull();
    cleanup();

    const onMergeDrop = vi.fn();
    const card = render(CallCard, { call: call({ id: 1, active: true }), now: 0, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop, onMergeDrop });
    await fireEvent.drop(card.getByTestId('call-card'), { dataTransfer: drag });
    expect(onMergeDrop).toHaveBeenCalledWith(3);
    cleanup();
    // A call still ringing out is no drop target.
    const ringing = render(CallCard, { call: call({ id: 1, state: 'ringing' }), now: 0, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop, onMergeDrop });
    await fireEvent.drop(ringing.getByTestId('call-card'), { dataTransfer: drag });
    expect(onMergeDrop).toHaveBeenCalledOnce();
  });

  it('the active call joins a parked conference with "Add to conference"', async () => {
    const onJoinConference = vi.fn();
    const { getByTestId } = render(CallCard, { call: call({ active: true }), now: 0, onHangup: noop, onMute: noop, onDtmf: noop, onDismiss: noop, onJoinConference });
    await fireEvent.click(getByTestId('join-conference'));
    expect(onJoinConference).toHaveBeenCalledOnce();
  });
});

describe('transfer request', () => {
  const request = { call_id: 1, target: 'sip:carol@example.com', who: 'sip:bob@127.0.0.1:5070', expiresAt: 40_000, expiresInSecs: 30, answered: false };

  it('names who asks and where to, counts down, and accepts or declines', async () => {
    const onAccept = vi.fn();
    const onDecline = vi.fn();
    const { getByTestId, getByRole } = render(TransferRequestBar, { request, call: call(), now: 12_500, onAccept, onDecline });
    const dialog = getByRole('alertdialog', { name: 'Bob wants to transfer you to sip:carol@example.com' });
    expect(dialog).toBe(getByTestId('transfer-request'));
    expect(getByTestId('transfer-request-countdown').textContent?.trim()).toBe('Declined automatically in 28 s');
    await fireEvent.click(getByRole('button', { name: 'Accept transfer' }));
    expect(onAccept).toHaveBeenCalledTimes(1);
    await fireEvent.click(getByRole('button', { name: 'Decline transfer' }));
    expect(onDecline).toHaveBeenCalledTimes(1);
  });

  it('names are text; without the call it uses the name the engine gave', () => {
    const { getByTestId, container } = render(TransferRequestBar, {
      request: { ...request, who: HOSTILE, target: `sip:${HOSTILE}@evil` },
      now: 0,
      onAccept: noop,
      onDecline: noop,
    });
    expect(container.querySelector('img')).toBeNull();
    expect(getByTestId('transfer-request').textContent).toContain(`${HOSTILE} wants to transfer you to sip:${HOSTILE}@evil`);
  });
});
