// The engine's sentences in the window's language. The engine speaks English (its events carry a
// `message`), and most of its events also carry what happened as data (an end reason's `kind`, a
// transfer's progress, a park recall's minutes): for those the window writes the sentence itself
// from a translated message. In English, and for anything without such data (plain `warning`s,
// refusals' details), the engine's own sentence is shown as it came.

import { remoteLabel } from './format';
import { baseLocale, getLocale, m } from './i18n.svelte';
import type { CallInfo, EndReason, RegistrationState } from './types';
import type { TransferProgress } from './engine';

/** The engine's sentence in English, else the translated one `build` writes (null: none fits). */
function localized(engine: string, build: () => string | null): string {
  if (getLocale() === baseLocale) return engine;
  return build() ?? engine;
}

const who = (call: Pick<CallInfo, 'remote_display_name' | 'remote_uri'>) => call.remote_display_name || call.remote_uri;

/** How a call ended (`call_ended`). */
export function endedText(call: CallInfo, reason: EndReason, engine: string): string {
  return localized(engine, () => {
    const name = who(call);
    switch (reason.kind) {
      case 'local_hangup':
        return m.ended_local_hangup({ who: name });
      case 'remote_hangup':
        return m.ended_remote_hangup({ who: name });
      case 'cancelled':
        return m.ended_cancelled({ who: name });
      case 'rejected':
        return m.ended_rejected({ who: name, status: reason.status });
      case 'failed':
        return m.ended_failed({ uri: call.remote_uri, status: reason.status, reason: reason.reason });
      case 'error':
        return m.ended_error({ who: name, detail: reason.message });
      case 'parked_on_orbit':
        return m.ended_parked_on_orbit({ who: name, slot: reason.slot });
      case 'transferred':
        return m.ended_transferred({ who: name, target: reason.target });
      case 'replaced':
        return m.ended_replaced({ who: name, by: reason.by });
      default:
        return null;
    }
  });
}

/** A call parked longer than the recall time (`park_recall`). */
export function parkRecallText(event: { who: string; parked_mins: number; message: string }): string {
  return localized(event.message, () => m.park_recall({ who: remoteLabel(null, event.who), minutes: event.parked_mins }));
}

/** A transfer's progress (`transfer`); a failure keeps the engine's sentence (its why varies). */
export function transferText(event: { target: string; progress: TransferProgress; message: string }): string {
  return localized(event.message, () => {
    switch (event.progress.state) {
      case 'trying':
        return m.transfer_trying({ target: event.target });
      case 'ringing':
        return m.transfer_ringing({ target: event.target });
      case 'connected':
        return m.transfer_connected({ target: event.target });
      default:
        return null;
    }
  });
}

/** Why a registration failed or is retried: the SIP status when there is one. */
export function registrationProblem(reg: RegistrationState & { message: string }): string {
  return localized(reg.message, () =>
    reg.state === 'failed' && reg.status != null ? m.registration_refused({ status: reg.status }) : null,
  );
}
