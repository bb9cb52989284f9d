// The engine's data as JSON (mirrors crates/phone/src/api.rs serde output) and the shell's account view.

export type CallId = number;
export type Direction = 'incoming' | 'outgoing';
export type CallState = 'calling' | 'ringing' | 'answered' | 'ended';
export type CodecName = 'pcmu' | 'pcma' | 'opus' | 'g722';
export type Transport = 'udp' | 'tcp' | 'tls';

export type RegistrationState =
  | { state: 'unregistered' }
  | { state: 'registering' }
  | { state: 'registered'; expires_in: number }
  | { state: 'failed'; message: string; status: number | null }
  | { state: 'retrying'; message: string; in_secs: number };

export interface CallInfo {
  id: CallId;
  direction: Direction;
  state: CallState;
  remote_uri: string;
  remote_display_name: string | null;
  codec: CodecName | null;
  muted: boolean;
  /** Unix milliseconds. */
  started_at_ms: number;
  answered_at_ms: number | null;
  /** This call has the microphone and speaker (at most one call at a time). */
  active?: boolean;
  /** Unix ms when the call was parked; null/absent when it is not parked. */
  parked_since_ms?: number | null;
  /** The remote party has put us on hold. */
  held_by_remote?: boolean;
  /** AOR of the account the call belongs to. */
  account?: string;
  /** Incoming calls: the routing decision and the rule that made it. */
  routing?: string | null;
}

/** Media quality figures (live `call_quality` events, and stored with history rows). */
export interface CallQuality {
  /** Estimated MOS (E-model), 1.0-4.5. */
  mos: number | null;
  packets_received: number;
  packets_lost: number;
  late_packets: number;
  concealed_frames: number;
  jitter_ms: number | null;
  rtt_ms: number | null;
  jitter_buffer_ms: number | null;
}

export type EndReason =
  | { kind: 'local_hangup' }
  | { kind: 'remote_hangup' }
  | { kind: 'cancelled' }
  | { kind: 'rejected'; status: number }
  | { kind: 'failed'; status: number; reason: string }
  | { kind: 'error'; message: string }
  /** Parked on a server park orbit (the far end accepted the transfer to the slot). */
  | { kind: 'parked_on_orbit'; slot: string };

/** A park orbit slot on the server (`[account.shared_park]`), as its dialog-event NOTIFYs say. */
export interface ParkSlot {
  slot: string;
  /** The slot's URI; calling it retrieves the parked call. */
  uri: string;
  occupied: boolean;
  parked_uri: string | null;
  parked_display: string | null;
  /** "trying" | "proceeding" | "early" | "confirmed"; null when free. */
  state: string | null;
}

export type PhoneEvent =
  | { event: 'registration'; aor: string; state: RegistrationState }
  | { event: 'incoming_call'; call: CallInfo }
  | { event: 'call_updated'; call: CallInfo }
  | { event: 'dtmf'; call_id: CallId; digit: string }
  | { event: 'audio_input_ended'; call_id: CallId }
  | { event: 'call_ended'; call: CallInfo; reason: EndReason; message: string }
  | { event: 'warning'; message: string }
  | { event: 'call_quality'; call_id: CallId; quality: CallQuality }
  | { event: 'park_slots'; slots: ParkSlot[] }
  | { event: 'availability'; availability: Availability }
  /** A call has been parked longer than the recall time; `message` is the sentence to show. */
  | { event: 'park_recall'; call_id: CallId; who: string; parked_mins: number; message: string };

/** The presence the user picks; routing rules read it as `presence`. */
export type Presence = 'available' | 'away' | 'busy';

/** Presence and the do-not-disturb switch (DND on: every incoming call is refused). */
export interface Availability {
  presence: Presence;
  dnd: boolean;
}

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
