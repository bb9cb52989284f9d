// The data the window exchanges with the engine and the shell, under the names the components use.
// Nothing here is written by hand: every type is generated from its Rust type, the engine's in
// ./engine.ts (crates/phone/src/ts_types.rs) and the desktop shell's in ./shell.ts
// (src-tauri/src/ts_types.rs); tests on the Rust side fail when either file is stale.
// Regenerate with `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-phone --lib ts_types` and
// `HOOKFLASH_WRITE_TS=1 cargo test -p hookflash-app ts_types`.

export type {
  AccountConfig,
  AccountStatus,
  AudioDevices,
  Availability,
  CallId,
  CallInfo,
  CallQuality,
  CallState,
  CodecName,
  Direction,
  EndReason,
  HistoryEntry,
  LinkSettings,
  ParkSlot,
  PartyLevel,
  PhoneEvent,
  Presence,
  RegistrationState,
  RoutingSettings,
  TransferRequests,
  Transport,
  VoiceProcessing,
  /** One allowed outbound caller ID (`dialling.caller_ids`). */
  CallerId as CallerIdChoice,
  /** One problem that stopped routing settings from being saved. */
  SettingsProblem as RoutingProblem,
} from './engine';

export type {
  AccountForm,
  AccountView,
  Command,
  LinkCall,
  LinkRequest,
  RoutingRejected,
  WindowSettings,
  WindowSettingsView,
  Hotkey,
  Hotkeys,
  HotkeyProblem,
  HotkeyRefusal,
  SettingsError,
  UpdateStatus,
  /** One sound device as the settings pickers show it. */
  DeviceView as AudioDevice,
  /** This computer's capture and playback devices. */
  DevicesView as AudioDeviceList,
} from './shell';
