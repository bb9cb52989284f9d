// Generated from the Rust types in crates/phone/src/api.rs by crates/phone/src/ts_types.rs.
// Do not edit: change the Rust types, then `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone ts_types`.

export type CallId = number;

export type PhoneEvent = { "event": "registration", aor: string, state: RegistrationState, } | { "event": "incoming_call", call: CallInfo, } | { "event": "call_updated", call: CallInfo, } | { "event": "dtmf", call_id: number, digit: string, } | { "event": "audio_input_ended", call_id: number, } | { "event": "call_ended", call: CallInfo, reason: EndReason, message: string, } | { "event": "warning", message: string, } | { "event": "call_quality", call_id: number, quality: CallQuality, } | { "event": "park_slots", slots: Array<ParkSlot>, } | { "event": "availability", availability: Availability, } | { "event": "park_recall", call_id: number, who: string, parked_mins: number, message: string, };

export type RegistrationState = { "state": "unregistered" } | { "state": "registering" } | { "state": "registered", expires_in: number, } | { "state": "failed", message: string, status: number | null, } | { "state": "retrying", message: string, in_secs: number, };

export type CallInfo = { id: number, direction: Direction, state: CallState, remote_uri: string, remote_display_name: string | null, codec: CodecName | null, muted: boolean, 
/**
 * Unix milliseconds.
 */
started_at_ms: number, answered_at_ms: number | null, 
/**
 * This call has the microphone and speaker (at most one call at a time).
 */
active: boolean, 
/**
 * Unix ms when we parked it (held with music on hold); None when not parked.
 */
parked_since_ms: number | null, 
/**
 * The peer put us on hold (its SDP said sendonly or inactive).
 */
held_by_remote: boolean, 
/**
 * The AOR of the account the call belongs to.
 */
account: string, 
/**
 * Incoming calls: how the routing rules decided this call, and which rule matched.
 */
routing: string | null, };

export type CallState = "calling" | "ringing" | "answered" | "ended";

export type Direction = "incoming" | "outgoing";

export type CodecName = "pcmu" | "pcma" | "opus" | "g722";

export type EndReason = { "kind": "local_hangup" } | { "kind": "remote_hangup" } | { "kind": "cancelled" } | { "kind": "rejected", status: number, } | { "kind": "failed", status: number, reason: string, } | { "kind": "error", message: string, } | { "kind": "parked_on_orbit", slot: string, };

export type CallQuality = { 
/**
 * Estimated MOS (ITU-T G.107 E-model), 1.0-4.5.
 */
mos: number | null, packets_received: number, 
/**
 * Packets that never arrived (RFC 3550 cumulative loss).
 */
packets_lost: number, 
/**
 * Packets that arrived after their playout time.
 */
late_packets: number, 
/**
 * 20 ms frames filled in by loss concealment.
 */
concealed_frames: number, 
/**
 * Interarrival jitter (RFC 3550), milliseconds.
 */
jitter_ms: number | null, 
/**
 * Round-trip time from RTCP, milliseconds.
 */
rtt_ms: number | null, 
/**
 * Mean jitter-buffer delay, milliseconds.
 */
jitter_buffer_ms: number | null, };

export type ParkSlot = { 
/**
 * The slot, e.g. "701".
 */
slot: string, 
/**
 * Its URI, e.g. `sip:701@pbx.example.com` (dial it to retrieve the call).
 */
uri: string, 
/**
 * A call is parked there (or being parked: ringing).
 */
occupied: boolean, 
/**
 * Who is parked there, when the server says.
 */
parked_uri: string | null, parked_display: string | null, 
/**
 * The orbit dialog's state: "trying", "proceeding", "early", "confirmed" (None when free).
 */
state: string | null, };

export type Availability = { presence: Presence, dnd: boolean, };

export type Presence = "available" | "away" | "busy";
