// The installed app: the .deb that `cargo xtask bundle` makes (the `package` step of
// `cargo xtask test` makes it from the shared debug build) is installed with dpkg, its .desktop
// entry registers the link schemes and passes the link on, the desktop's handler for tel: is
// Hookflash, the installed /usr/bin/hookflash-app starts and shows its window on a private Xvfb,
// and the package is removed again. Then the update: the same package repacked as version 9.9.9
// and signed with a key of the test's own (lib/update_server.mjs), offered by a manifest on
// loopback; the installed app (the shared debug build, which takes the endpoint and key from
// HOOKFLASH_UPDATE_ENDPOINT / HOOKFLASH_UPDATE_PUBKEY), with updates switched on, finds it by
// itself, and Install in its window (driven over WebDriver) downloads it, checks its signature
// and has the package manager install it: dpkg then has 9.9.9. Installing needs root (as in CI);
// elsewhere the tests are skipped with the reason.
//
// Env: HOOKFLASH_DEB_DIR (the folder with the .deb; default <repo>/target/debug/bundle/deb).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { remote } from 'webdriverio';
import { freeTcpPort, start, stop, stopAll, waitFor } from './lib/processes.mjs';
import { makeSigningKey, manifest, sign, startUpdateServer } from './lib/update_server.mjs';
import { accepts, findTauriDriver } from './lib/tauri_driver.mjs';
import { appEnvironment } from './lib/app_env.mjs';
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

/** A direct-calls profile in work/`name`/ (its history beside it); returns its path. */
function writeProfile(name) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const profile = path.join(dir, 'profile.toml');
  writeFileSync(profile, `history_db = ${JSON.stringify(path.join(dir, 'history.sqlite3'))}\n[account]\naor = "sip:alice@127.0.0.1"\nregister = false\nlisten = "127.0.0.1:0"\n`);
  return profile;
}

/** The installed app's environment: this profile, no sound card, nothing of the user's, English. */
function appEnv(display, profile, extra = {}) {
  return appEnvironment({ display, work, profile, overrides: { HOME: work, ...extra } });
}

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
  const profile = writeProfile('profile');
  const log = path.join(work, 'installed-app.log');
  const app = start('hookflash-app', '/usr/bin/hookflash-app', [], {
    env: appEnv(display, profile),
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

/** The installed package's version, as dpkg has it. */
const installedVersion = () => run('dpkg-query', ['--show', '--showformat=${Version}', PACKAGE]).trim();

/** `deb` repacked as `version` (its control file changed, nothing else) into `dir`. */
function repack(deb, version, dir) {
  const tree = path.join(dir, 'tree');
  run('dpkg-deb', ['--raw-extract', deb, tree]);
  const control = path.join(tree, 'DEBIAN', 'control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${version}`));
  const out = path.join(dir, `Hookflash_${version}_amd64.deb`);
  run('dpkg-deb', ['--root-owner-group', '--build', tree, out]);
  return out;
}

test('the installed app finds a signed update by itself and installs it with the package manager', { timeout: 180_000, skip: why ?? false }, async () => {
  const debs = existsSync(debDir) ? readdirSync(debDir).filter((f) => f.endsWith('.deb')) : [];
  assert.equal(debs.length, 1, `expected one .deb in ${debDir}, found ${JSON.stringify(debs)}`);
  const deb = path.join(debDir, debs[0]);
  const tauriCli = path.join(repo, 'ui', 'node_modules', '.bin', 'tauri');
  assert.ok(existsSync(tauriCli), `the Tauri CLI (${tauriCli}) signs the update: npm ci in ui/`);
  const tauriDriver = findTauriDriver();
  assert.ok(existsSync(tauriDriver), `tauri-driver not found (${tauriDriver})`);

  // The update: this package as 9.9.9, signed for 9.9.9 with the test's key.
  const dir = path.join(work, 'update');
  mkdirSync(dir, { recursive: true });
  const update = repack(deb, '9.9.9', dir);
  const { key, pub } = makeSigningKey(tauriCli, dir);
  const signature = sign(tauriCli, key, update, '9.9.9');
  const server = await startUpdateServer({ '/Hookflash_9.9.9_amd64.deb': readFileSync(update) });
  // An installed .deb looks its entry up as linux-<cpu>-deb.
  const cpu = { x64: 'x86_64', arm64: 'aarch64' }[process.arch] ?? process.arch;
  server.set('/latest.json', manifest('9.9.9', 'The installed app updates itself.', { [`linux-${cpu}-deb`]: { url: server.url('/Hookflash_9.9.9_amd64.deb'), signature } }));

  run('dpkg', ['--install', deb]);
  installed = true;
  const before = installedVersion();
  assert.notEqual(before, '9.9.9');

  // Updates switched on in its settings: it checks by itself after start.
  const profile = writeProfile('update-profile');
  writeFileSync(path.join(path.dirname(profile), 'window.toml'), 'close_to_tray = false\ncheck_for_updates = true\n');
  const { display } = await startXvfb(path.join(work, 'xvfb-update.log'));
  const driverPort = await freeTcpPort();
  const nativePort = await freeTcpPort();
  const driver = start('tauri-driver', tauriDriver, ['--port', String(driverPort), '--native-port', String(nativePort)], {
    env: appEnv(display, profile, {
      HOOKFLASH_UPDATE_ENDPOINT: server.url('/latest.json'),
      HOOKFLASH_UPDATE_PUBKEY: pub,
    }),
    logFile: path.join(work, 'installed-update.log'),
  });
  let browser = null;
  try {
    await waitFor('tauri-driver and WebKitWebDriver', async () => {
      if (driver.exited) throw new Error(`tauri-driver exited (${driver.exitCode})`);
      return (await accepts(driverPort)) && (await accepts(nativePort));
    }, 20_000);
    browser = await remote({
      hostname: '127.0.0.1',
      port: driverPort,
      logLevel: 'warn',
      connectionRetryTimeout: 120_000,
      connectionRetryCount: 0,
      capabilities: { 'tauri:options': { application: '/usr/bin/hookflash-app' }, 'wdio:enforceWebDriverClassic': true },
    });
    const byTestId = (id) => browser.$(`[data-testid="${id}"]`);
    await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the installed app window never came up' });
    await (await byTestId('account-settings-button')).click();
    const status = await byTestId('update-status');
    await browser.waitUntil(async () => (await status.getAttribute('data-state')) === 'available', {
      timeout: 30_000,
      timeoutMsg: `the installed app did not find the update by itself (status: ${await status.getText().catch(() => '?')})`,
    });
    assert.equal(server.hits('/latest.json'), 1);
    await (await byTestId('update-install')).click();
    await browser.waitUntil(async () => ['installed', 'failed'].includes(await status.getAttribute('data-state')), {
      timeout: 90_000,
      timeoutMsg: 'the installation did not end',
    });
    assert.equal(await status.getAttribute('data-state'), 'installed', `the update was not installed: ${await status.getText()}\n${readFileSync(path.join(work, 'installed-update.log'), 'utf8').slice(-3000)}`);
    assert.equal((await status.getText()).trim(), 'Hookflash 9.9.9 is installed; it starts with the next restart.');
    assert.equal(await (await byTestId('update-restart')).isDisplayed(), true, 'no Restart now after installing');
    assert.equal(installedVersion(), '9.9.9', `dpkg has ${installedVersion()} after the update (before: ${before})`);
  } finally {
    if (browser) await browser.deleteSession().catch(() => {});
    await stop(driver);
    await server.close();
  }
  run('dpkg', ['--remove', PACKAGE]);
  installed = false;
});
