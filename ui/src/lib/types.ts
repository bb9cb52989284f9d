// The engine's data as JSON and the shell's account view. The types of the engine's events and
// everything in them are generated from the Rust ones (./engine.ts, checked by a test of
// crates/phone); the others here are still written by hand and must mirror their Rust types.

import type { CallQuality, Direction, RegistrationState } from './engine';
export type {
  Availability,
  CallId,
  CallInfo,
  CallQuality,
  CallState,
  CodecName,
  Direction,
  EndReason,
  ParkSlot,
  PhoneEvent,
  Presence,
  RegistrationState,
} from './engine';

export type Transport = 'udp' | 'tcp' | 'tls';

export interface HistoryEntry {
  id: number;
  direction: Direction;
  account: string;
  remote_uri: string;
  remote_display_name: string | null;
  started_at_ms: number;
  answered_at_ms: number | null;
  ended_at_ms: number;
  /** "answered", "missed", "rejected", "cancelled", "failed". */
  outcome: string;
  sip_status: number | null;
  codec: string | null;
  /** Incoming calls: how the routing rules decided the call. */
  routing?: string | null;
  quality?: CallQuality | null;
  /** How the call ended, in words (e.g. "sip:bob@pbx parked on 701"). */
  end_message?: string | null;
}

export interface AccountConfig {
  aor: string;
  display_name: string | null;
  auth_user: string | null;
  registrar: string | null;
  outbound_proxy: string | null;
  transport: Transport | null;
  expires: number;
  listen: string | null;
  tls_ca_file: string | null;
  register: boolean;
}

/** What the `account` command returns. */
export interface AccountView {
  configured: boolean;
  profile_path: string | null;
  account: AccountConfig | null;
  registration: RegistrationState;
  error: string | null;
  /** What went wrong while the engine started without stopping it (e.g. an unreadable history file). */
  warning?: string | null;
  /** Voicemail target for "send to voicemail", if configured. */
  voicemail?: string | null;
  /** Outbound caller IDs this account may present per call (`dialling.caller_ids`). */
  caller_ids?: CallerIdChoice[];
}

/** One allowed outbound caller ID. */
export interface CallerIdChoice {
  number: string;
  name: string;
}

/** The fields the settings form sends to `save_account`. */
export interface AccountForm {
  aor: string;
  display_name: string | null;
  auth_user: string | null;
  registrar: string | null;
  outbound_proxy: string | null;
  transport: Transport | null;
  expires: number | null;
  register: boolean;
  /** Where "Voicemail" on the incoming card sends a call; null: no such button. */
  voicemail: string | null;
}

/** Call routing settings (crates/phone/src/routing/settings.rs `RoutingSettings`, serde shape). */
export interface RoutingSettings {
  classify: {
    queues: string[];
    queue_header: { name: string; value: string } | null;
    queue_alert_info: string[];
    to_other_than_account_is_queue: boolean;
  };
  presets: {
    do_not_disturb: { enabled: boolean; reject_with: 'busy' | 'decline' };
    busy_on_busy: boolean;
    forward_always: { enabled: boolean; target: string };
    forward_no_answer: { enabled: boolean; target: string; after_secs: number };
    business_hours: { enabled: boolean; hours: string[]; outside: string };
    auto_answer_intercom: boolean;
  };
  /** `when <expression> then <action>`, in order. */
  rules: string[];
  /** Time zone for business hours, e.g. "+01:00"; null = the computer's. */
  utc_offset: string | null;
}

/** One problem that stopped routing settings from being saved. */
export interface RoutingProblem {
  /** 1-based user rule number, when the problem is in a rule. */
  rule: number | null;
  /** Settings field, e.g. "presets.business_hours.hours" or "rules[2]". */
  field: string;
  message: string;
}

/** Voice processing on the microphone (profile `[voice_processing]`); every part on by default. */
export interface VoiceProcessing {
  echo_cancellation: boolean;
  noise_suppression: boolean;
  gain_control: boolean;
}

/** What `save_routing` rejects with. */
export interface RoutingRejected {
  message: string;
  problems: RoutingProblem[];
}

/** One sound device as the settings pickers show it. */
export interface AudioDevice {
  id: string;
  name: string;
  is_default: boolean;
}

/** This computer's capture and playback devices. */
export interface AudioDeviceList {
  inputs: AudioDevice[];
  outputs: AudioDevice[];
}

/** Devices chosen in settings (device ids); absent ones follow the system default. */
export interface AudioDevices {
  microphone?: string | null;
  speaker?: string | null;
  ringer?: string | null;
}
