// The installed app: the .deb that `cargo xtask bundle` makes (the `package` step of
// `cargo xtask test` makes it from the shared debug build) is installed with dpkg, its .desktop
// entry registers the link schemes and passes the link on, the desktop's handler for tel: is
// Hookflash, the installed /usr/bin/hookflash-app starts and shows its window on a private Xvfb,
// and the package is removed again. Installing needs root (as in CI); elsewhere the test is
// skipped with the reason.
//
// Env: HOOKFLASH_DEB_DIR (the folder with the .deb; default <repo>/target/debug/bundle/deb).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, stop, stopAll, waitFor } from './lib/processes.mjs';
import { startXvfb } from './lib/xvfb.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const debDir = process.env.HOOKFLASH_DEB_DIR || path.join(repo, 'target', 'debug', 'bundle', 'deb');
const work = mkdtempSync(path.join(os.tmpdir(), 'hookflash-installed-'));
const PACKAGE = 'hookflash';
let installed = false;

const run = (cmd, args, env = process.env) => execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

after(async () => {
  await stopAll();
  if (installed) run('dpkg', ['--remove', PACKAGE]);
});

const why = process.getuid?.() !== 0 ? 'installing a .deb needs root (CI runs as root)' : null;

test('the .deb installs, registers tel:/sip:/sips:/callto:, starts the installed app and is removed again', { timeout: 120_000, skip: why ?? false }, async () => {
  const debs = existsSync(debDir) ? readdirSync(debDir).filter((f) => f.endsWith('.deb')) : [];
  assert.equal(debs.length, 1, `expected one .deb in ${debDir} (cargo xtask bundle makes it), found ${JSON.stringify(debs)}`);
  const deb = path.join(debDir, debs[0]);
  const info = run('dpkg-deb', ['--field', deb, 'Package', 'Depends']);
  assert.match(info, /^Package: hookflash$/m, info);
  assert.match(info, /libwebkit2gtk-4\.1-0/, info);

  run('dpkg', ['--install', deb]);
  installed = true;
  assert.ok(existsSync('/usr/bin/hookflash-app'), 'no /usr/bin/hookflash-app after installing');
  const entryPath = '/usr/share/applications/Hookflash.desktop';
  const entry = readFileSync(entryPath, 'utf8');
  assert.match(entry, /^Exec=hookflash-app %u$/m, `the launcher does not pass the link on:\n${entry}`);
  for (const scheme of ['tel', 'sip', 'sips', 'callto']) {
    assert.match(entry, new RegExp(`MimeType=.*x-scheme-handler/${scheme};`), `${scheme}: not registered:\n${entry}`);
  }
  // The headset rule: hidraw of headset makers for the logged-in user.
  const rule = readFileSync('/usr/lib/udev/rules.d/70-hookflash-headset.rules', 'utf8');
  assert.match(rule, /^SUBSYSTEM=="hidraw", ATTRS\{idVendor\}=="0b0e", TAG\+="uaccess"$/m, rule);
  // The desktop's own answer to "who opens tel: links" (xdg-utils, from the MIME cache dpkg's
  // trigger rebuilt).
  const handler = run('xdg-mime', ['query', 'default', 'x-scheme-handler/tel'], { ...process.env, XDG_DATA_DIRS: '/usr/local/share:/usr/share', XDG_CONFIG_HOME: path.join(work, 'config') }).trim();
  assert.equal(handler, 'Hookflash.desktop', `xdg-mime names ${JSON.stringify(handler)} for tel: links`);

  // The installed binary starts and shows its window.
  const { display } = await startXvfb(path.join(work, 'xvfb.log'));
  const profileDir = path.join(work, 'profile');
  mkdirSync(profileDir, { recursive: true });
  const profile = path.join(profileDir, 'profile.toml');
  writeFileSync(profile, `history_db = ${JSON.stringify(path.join(profileDir, 'history.sqlite3'))}\n[account]\naor = "sip:alice@127.0.0.1"\nregister = false\nlisten = "127.0.0.1:0"\n`);
  const log = path.join(work, 'installed-app.log');
  const app = start('hookflash-app', '/usr/bin/hookflash-app', [], {
    env: {
      ...process.env,
      DISPLAY: display,
      HOME: work,
      HOOKFLASH_PROFILE: profile,
      HOOKFLASH_PASSWORD: '',
      HOOKFLASH_AUDIO_IN: 'null',
      HOOKFLASH_AUDIO_OUT: 'null',
      XDG_CONFIG_HOME: path.join(work, 'config'),
      XDG_DATA_HOME: path.join(work, 'data'),
      XDG_CACHE_HOME: path.join(work, 'cache'),
      DBUS_SESSION_BUS_ADDRESS: 'disabled:',
      NO_AT_BRIDGE: '1',
      RUST_LOG: 'info',
    },
    logFile: log,
  });
  await waitFor('the installed app to be ready to dial', () => {
    if (app.exited) throw new Error(`the installed app exited (${app.exitCode}): ${readFileSync(log, 'utf8').slice(-2000)}`);
    return readFileSync(log, 'utf8').includes('ready to dial');
  }, 60_000);
  const windows = await waitFor('its window on the display', () => {
    try {
      return run('xdotool', ['search', '--onlyvisible', '--name', '^Hookflash$'], { ...process.env, DISPLAY: display }).trim();
    } catch {
      return '';
    }
  }, 20_000);
  assert.ok(windows.length > 0);
  await stop(app);

  run('dpkg', ['--remove', PACKAGE]);
  installed = false;
  assert.ok(!existsSync('/usr/bin/hookflash-app'), '/usr/bin/hookflash-app stayed after removing the package');
});
