// The one typed client for the Tauri shell: every command the window may invoke and the
// "phone-event" channel. Views import this module and never call `invoke` themselves. The argument
// and result types are generated from the Rust ones (./engine.ts, ./shell.ts, via ./types.ts).

import { invoke as tauriInvoke, type InvokeArgs } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { Command } from './shell';
import type {
  AccountForm,
  AudioDeviceList,
  AudioDevices,
  AccountView,
  Availability,
  CallId,
  CallInfo,
  HistoryEntry,
  LinkRequest,
  LinkSettings,
  ParkSlot,
  PhoneEvent,
  RoutingSettings,
  UpdateStatus,
  VoiceProcessing,
  WindowSettings,
  WindowSettingsView,
} from './types';

/** Name of the event channel the shell forwards every engine event on (src-tauri/src/events.rs `CHANNEL`). */
export const EVENT_CHANNEL = 'phone-event';
/** The shell's nudge that links are waiting for `takeLinks` (src-tauri/src/links.rs `CHANNEL`). */
export const LINK_CHANNEL = 'links';
/** The shell's update status, sent whenever it changes (src-tauri/src/updates.rs `adapter::CHANNEL`). */
export const UPDATE_CHANNEL = 'update';

/**
 * Invokes a shell command. `Command` is generated from the commands src-tauri registers, so a
 * misspelt or unregistered name does not type-check; src-tauri's tests also check that this file
 * invokes every registered command, by literal name.
 */
function invoke<T>(command: Command, args?: InvokeArgs): Promise<T> {
  return tauriInvoke<T>(command, args);
}

export const phone = {
  register: (): Promise<void> => invoke('register'),
  /**
   * `callerId`: one of the account's allowed caller IDs; omitted: the account's own identity.
   * `from`: the AOR of the account to call from; omitted: the first account.
   */
  dial: (target: string, callerId?: string, from?: string): Promise<CallId> =>
    invoke('dial', { target, callerId: callerId ?? null, from: from ?? null }),
  answer: (id: CallId): Promise<void> => invoke('answer', { id }),
  /** Rejects a ringing call with 603 Decline. */
  decline: (id: CallId): Promise<void> => invoke('decline', { id }),
  hangup: (id: CallId): Promise<void> => invoke('hangup', { id }),
  /** Sends a ringing call to the configured voicemail (302). */
  sendToVoicemail: (id: CallId): Promise<void> => invoke('send_to_voicemail', { id }),
  /** Holds the call with music on hold; it joins the parked list. */
  park: (id: CallId): Promise<void> => invoke('park_call', { id }),
  /** Makes a parked call the active one, parking the current call in the same action. */
  switchTo: (id: CallId): Promise<void> => invoke('switch_call', { id }),
  sendDtmf: (id: CallId, digits: string): Promise<void> => invoke('send_dtmf', { id, digits }),
  setMute: (id: CallId, muted: boolean): Promise<void> => invoke('set_mute', { id, muted }),
  calls: (): Promise<CallInfo[]> => invoke('calls'),
  history: (limit: number): Promise<HistoryEntry[]> => invoke('history', { limit }),
  /** Parks the call on a server park orbit slot (transfer); it leaves this phone when accepted. */
  parkOnOrbit: (id: CallId, slot: string): Promise<void> => invoke('park_on_orbit', { id, slot }),
  /**
   * Blind transfer to a number, extension or URI: held, then referred; progress comes as
   * `transfer` events. If it fails the call stays parked, or is resumed with `resume`.
   */
  transfer: (id: CallId, target: string, resume: boolean): Promise<void> =>
    invoke('transfer_call', { id, target, resume }),
  /** Parks the call and dials `target` to consult first; the new call's id. */
  consult: (id: CallId, target: string): Promise<CallId> => invoke('consult_call', { id, target }),
  /** Connects the far ends of `id` and `other` (attended transfer) and leaves both calls. */
  completeTransfer: (id: CallId, other: CallId): Promise<void> => invoke('complete_transfer', { id, other }),
  /**
   * Answers the far end's request to transfer call `id` (a `transfer_request` event): accept calls
   * the target (the call ends once that one connects), decline keeps the call. The outcome
   * arrives as a `transfer` event; a request no longer waiting rejects with the engine's sentence.
   */
  answerTransferRequest: (id: CallId, accept: boolean): Promise<void> => invoke('answer_transfer_request', { id, accept }),
  /**
   * Merges the active call, the conference (if any) and `ids` into one local conference the user
   * is in; `[]` brings a parked conference back. Changes arrive as `conference` events.
   */
  conference: (ids: CallId[]): Promise<void> => invoke('conference_calls', { ids }),
  /** Keeps party `id` (null: the user's own microphone) out of the conference's mix, or lets it back in. */
  conferenceMute: (id: CallId | null, muted: boolean): Promise<void> => invoke('conference_mute', { id, muted }),
  /**
   * Leaves the conference: two other parties are connected to each other and our calls end;
   * with more it is refused (the mix is on this phone) unless `end`, which hangs up everyone.
   */
  leaveConference: (end: boolean): Promise<void> => invoke('leave_conference', { end }),
  /** Leaves the conference by handing it to party `to`: its phone hosts it from then on. */
  handConference: (to: CallId): Promise<void> => invoke('hand_conference', { to }),
  /** Tells the app the window's language, which the tray, ringing window title and notifications follow. */
  setLanguage: (tag: string): Promise<void> => invoke('set_language', { tag }),
  /** Calls the orbit slot to take back the call parked there. */
  retrieve: (slot: string): Promise<CallId> => invoke('retrieve_from_orbit', { slot }),
  /** The account's orbit slots (empty: no shared park configured). */
  parkSlots: (): Promise<ParkSlot[]> => invoke('park_slots'),
  account: (): Promise<AccountView> => invoke('account'),
  saveAccount: (account: AccountForm, password: string | null): Promise<AccountView> =>
    invoke('save_account', { account, password }),
  /** The call-routing settings in effect. */
  routing: (): Promise<RoutingSettings> => invoke('routing'),
  /** Validates and saves routing settings; rejects with a `RoutingRejected` (problems per rule/field). */
  saveRouting: (settings: RoutingSettings): Promise<RoutingSettings> => invoke('save_routing', { settings }),
  /** Echo cancellation, noise suppression and gain control in effect. */
  voiceProcessing: (): Promise<VoiceProcessing> => invoke('voice_processing'),
  /** Switches them for every call at once; saved in the profile. */
  saveVoiceProcessing: (settings: VoiceProcessing): Promise<VoiceProcessing> =>
    invoke('save_voice_processing', { settings }),
  /** Presence and do-not-disturb in effect. */
  availability: (): Promise<Availability> => invoke('availability'),
  /** Sets presence and do-not-disturb for the next incoming call (DND on refuses every call). */
  setAvailability: (availability: Availability): Promise<Availability> =>
    invoke('set_availability', { availability }),
  /** Sound devices of this computer (defaults marked), for the device pickers. */
  audioDevices: (): Promise<AudioDeviceList> => invoke('audio_devices'),
  /** The microphone, speaker and ringer chosen in the profile. */
  audioSettings: (): Promise<AudioDevices> => invoke('audio_settings'),
  /** Saves the chosen devices: the next call uses them, the ringer moves at once. */
  saveAudioSettings: (devices: AudioDevices): Promise<AudioDevices> => invoke('save_audio_settings', { devices }),
  /** The links (tel:, sip:, `hookflash-app dial`) that arrived since the last call, oldest first. */
  takeLinks: (): Promise<LinkRequest[]> => invoke('take_links'),
  /** Whether a link is confirmed before it is dialled ("Ask before calling a link"). */
  linkSettings: (): Promise<LinkSettings> => invoke('link_settings'),
  /** Saves it in the profile. */
  saveLinkSettings: (settings: LinkSettings): Promise<LinkSettings> => invoke('save_link_settings', { settings }),
  /** Whether closing the window keeps the phone running in the tray, start at login, the hotkeys. */
  windowSettings: (): Promise<WindowSettingsView> => invoke('window_settings'),
  /** Saves them (beside the profile); in effect at once (hotkeys the desktop refuses are listed). */
  saveWindowSettings: (settings: WindowSettings): Promise<WindowSettingsView> => invoke('save_window_settings', { settings }),
  /** Adds or removes the desktop's autostart entry (it starts the app in the tray). */
  setStartAtLogin: (on: boolean): Promise<WindowSettingsView> => invoke('set_start_at_login', { on }),
  /** Where updates stand: off, checked, a release available, installing, installed, failed. */
  updateStatus: (): Promise<UpdateStatus> => invoke('update_status'),
  /** Asks the update server now (whether or not automatic checks are on). */
  checkForUpdates: (): Promise<UpdateStatus> => invoke('check_for_updates'),
  /** Downloads the release available, checks its signature and installs it. */
  installUpdate: (): Promise<UpdateStatus> => invoke('install_update'),
  /** Hangs up, un-registers and starts the installed version. */
  restartAfterUpdate: (): Promise<void> => invoke('restart_after_update'),
  /** Calls `handler` with every change of the update status. */
  onUpdate: (handler: (status: UpdateStatus) => void): Promise<UnlistenFn> =>
    listen<UpdateStatus>(UPDATE_CHANNEL, (message) => handler(message.payload)),
  /** Calls `handler` whenever links are waiting (take them with `takeLinks`). */
  onLinks: (handler: () => void): Promise<UnlistenFn> => listen(LINK_CHANNEL, () => handler()),
  /** Calls `handler` for every engine event, in order. Resolves to the function that stops listening. */
  onEvent: (handler: (event: PhoneEvent) => void): Promise<UnlistenFn> =>
    listen<PhoneEvent>(EVENT_CHANNEL, (message) => handler(message.payload)),
};

/** The sentence to show for a failed command (the shell rejects with the engine's message). */
export function errorMessage(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
