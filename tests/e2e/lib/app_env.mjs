// The environment both kinds of app start get (tauri-driver's and the installed binary's):
// this profile, no sound card, nothing of the user's files or session bus, English.
import path from 'node:path';

/**
 * `process.env` plus what isolates the app: `display`, the `profile` file, null audio,
 * XDG folders under `work`, no session bus (single-instance, keyring), English words.
 * An override of `undefined` removes the variable.
 */
export function appEnvironment({ display, work, profile, overrides = {} }) {
  const env = {
    ...process.env,
    DISPLAY: display,
    HOOKFLASH_PROFILE: profile,
    HOOKFLASH_PASSWORD: '',
    HOOKFLASH_AUDIO_IN: 'null',
    HOOKFLASH_AUDIO_OUT: 'null',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    XDG_CONFIG_HOME: path.join(work, 'config'),
    XDG_DATA_HOME: path.join(work, 'data'),
    XDG_CACHE_HOME: path.join(work, 'cache'),
    DBUS_SESSION_BUS_ADDRESS: 'disabled:',
    NO_AT_BRIDGE: '1',
    // The window picks its language from the system's (WebKitGTK reads LANGUAGE, then LC_ALL,
    // LC_MESSAGES, LANG): English, whatever the machine's, since the tests read English words.
    LANGUAGE: 'en_US',
    ...overrides,
  };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env;
}
