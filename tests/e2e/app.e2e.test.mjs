// End-to-end tests of the Hookflash desktop app: the real window, driven over WebDriver
// (tauri-driver + WebKitWebDriver) on a private Xvfb display.
// 1. First start without a profile: the account form, saved, opens the phone.
// 2. A call to a baresip peer on 127.0.0.1 (no registrar): Connected, DTMF, hang up, history.
// 2b. Links: a second `hookflash-app sip:…` (single-instance over a private D-Bus) shows the
//     confirm bar; Call reaches the peer. A bad `tel:` link shows its sentence, dials nothing;
//     `hookflash-app dial <address>` asks too, and Cancel dials nothing; a first start with a
//     link asks once the window is up.
// 3. Calls from the peer: one answered (the peer hangs up), one declined (603).
// 3b. Two calls at once: answer both (answering parks the first), switch by double-click, hang up
//     one, the other remains.
// 3c. Consult transfer: Transfer → "Consult first" parks the caller and calls a colleague; the
//     consult bar's "Complete transfer" connects them and both our calls end "transferred".
// 3d. 3-way then leave: while consulting, "Conference all" merges the caller and the colleague into
//     one conference card (both parties, per-party mute); Leave connects the two to each other and
//     our calls end.
// 3e. Four-way: a third caller answered parks the conference; "Return to conference", the parked
//     call's Merge makes it three parties; Leave is refused with the engine's reason and "End
//     conference for everyone" hangs up all three.
// 3f. A transfer request: with `transfer_requests = "ask"`, bob (called by us) asks to transfer us
//     to carol; the prompt counts down; Decline keeps the call (carol is never called), Accept
//     calls carol and the call with bob ends "transferred".
// 3g. Shared park: orbit slots from a scripted dialog-event notifier; the call card offers the orbits.
// 3h. Accessibility: axe-core (lib/axe.mjs) run in the window idle, with a call ringing and with a
//     call connected finds no serious or critical violations; the live regions announce the
//     incoming call (assertive), the connected and the ended call (polite).
// 3i. Keyboard only (lib/keyboard.mjs: Tab, Enter, Space; nothing clicked): answer, park, answer a
//     second call, switch back, hang up the parked one, blind-transfer the first to the second.
// 4. Sign-in at Kamailio with digest from the account form: a wrong password is refused with
//    its status, the right one registers; a call follows, and the app's log at debug holds no
//    password, digest answer, nonce or SDP; closing the window un-REGISTERs and quits.
// 6. The tray, against a StatusNotifier host on a private session bus (lib/tray_host.py; skipped
//    without python3-dbus/python3-gi): --minimized starts hidden in it; its menu's status line,
//    missed-call label, recent calls (a click dials back), Do not disturb (the window follows),
//    Show/Hide window, closing the window into the tray, and Quit.
// 5a. Navigation: Ctrl+1…4 and the rail open the views; a call rings and is answered in the
//     history view; a narrow window shows tabs and the call in one column; the history filter;
//     the last view opens again at the next start.
// 5b. Desktop: hotkeys set in the settings by pressing them (lib/key_grabber.py holds one the
//     way another program would: it is named) answer, mute, hang up and decline a call from
//     another program (xdotool presses them) and show/hide the window; "Start at login" writes
//     and removes the XDG autostart entry; the window's size is kept across starts.
// 5c. Updates (lib/update_server.mjs: a key and a manifest of the test's own, served on loopback):
//     off by default, the server hears nothing; switched on, the release is offered with its notes;
//     Install of a download that does not match its signature is refused; the right one is
//     checked, and then not forced onto a copy that was not installed from a package.
// 5. The ringing window: started with --minimized (no tray host here: minimised), a call from
//    the peer opens a second window (WebDriver switches to it) that names the caller and takes no
//    keyboard focus (openbox's _NET_ACTIVE_WINDOW unchanged) and passes axe-core; Answer there connects the call and
//    closes it, the caller giving up closes it, Decline there sends 603 and closes it.
//
// Env: HOOKFLASH_APP_BIN (the built app, default <repo>/target/debug/hookflash-app),
//      HOOKFLASH_PEER_BIN (tests/src/bin/peer.rs, starts Kamailio; default beside the app),
//      HOOKFLASH_ARTIFACTS_DIR (screenshots and logs, default <repo>/target/e2e-artifacts),
//      TAURI_DRIVER (default: tauri-driver on PATH or in ~/.cargo/bin).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { remote } from 'webdriverio';
import { start, stop, stopAll, freeTcpPort, freeSipPort, waitFor, sleep } from './lib/processes.mjs';
import { startXvfb } from './lib/xvfb.mjs';
import { startBaresip } from './lib/baresip.mjs';
import { startKamailio } from './lib/kamailio.mjs';
import { startOrbitNotifier } from './lib/orbit_notifier.mjs';
import { checkAccessibility, describeViolations } from './lib/axe.mjs';
import { Key, press, tabTo, typeText } from './lib/keyboard.mjs';
import { menuLabels, startTrayHost, trayHostMissing } from './lib/tray_host.mjs';
import { makeSigningKey, manifest, sign, startUpdateServer, writePackage } from './lib/update_server.mjs';
import { accepts, findTauriDriver } from './lib/tauri_driver.mjs';
import { appEnvironment } from './lib/app_env.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const appBin = process.env.HOOKFLASH_APP_BIN || path.join(repo, 'target', 'debug', 'hookflash-app');
const peerBin = process.env.HOOKFLASH_PEER_BIN || path.join(path.dirname(appBin), 'peer');
const artifacts = process.env.HOOKFLASH_ARTIFACTS_DIR || path.join(repo, 'target', 'e2e-artifacts');
const work = mkdtempSync(path.join(os.tmpdir(), 'hookflash-e2e-'));
const tauriDriver = findTauriDriver();

function step(message) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** The current WebDriver session (one app instance at a time). */
let browser = null;
let driver = null;

/**
 * WebDriver screenshot, bounded: WebKit's screenshot waits for the next paint, and an idle page
 * (no caret, no ticking timer) may not paint again for a long time. Returns whether it was saved.
 */
async function screenshot(file, ms = 8000) {
  try {
    await browser.execute(() => {
      document.body.style.outline = document.body.style.outline ? '' : '1px solid transparent';
    });
  } catch {
    // Only a nudge to repaint.
  }
  await sleep(300); // let WebKit paint what the last commands changed
  const saved = browser.saveScreenshot(file).then(
    () => true,
    () => false,
  );
  return Promise.race([saved, sleep(ms).then(() => false)]);
}

/** The whole X screen (no WebDriver involved). */
function xScreenshot(file) {
  try {
    execFileSync('import', ['-display', display, '-window', 'root', file], { timeout: 15000 });
    return true;
  } catch (error) {
    step(`X screenshot failed: ${error.message}`);
    return false;
  }
}
let display = null;
let peer = null;

/** Checks the tools, creates the artifacts folder, starts Xvfb once. */
async function setUp() {
  if (display) return;
  mkdirSync(artifacts, { recursive: true });
  mkdirSync(path.join(work, 'logs'), { recursive: true });
  assert.ok(existsSync(appBin), `the app binary ${appBin} does not exist: build it with \`cargo build -p hookflash-app\` (after \`npm ci && npm run build\` in ui/) or set HOOKFLASH_APP_BIN`);
  assert.ok(existsSync(tauriDriver), `tauri-driver not found (${tauriDriver}): \`cargo install tauri-driver --version =2.1.0 --locked\` or set TAURI_DRIVER`);
  assert.ok(existsSync('/usr/bin/WebKitWebDriver'), 'WebKitWebDriver missing: apt-get install webkit2gtk-driver');
  assert.ok(existsSync(peerBin), `the peer binary ${peerBin} does not exist: \`cargo build -p hookflash-tests --bin peer\` or set HOOKFLASH_PEER_BIN`);
  ({ display } = await startXvfb(path.join(work, 'logs', 'xvfb.log')));
  step(`Xvfb on ${display}`);
}

/** The baresip peer shared by the call tests (started once). */
async function ensurePeer() {
  if (peer) return peer;
  const sipPort = await freeSipPort();
  const ctrlPort = await freeTcpPort();
  const rtpBase = 20000 + Math.floor(Math.random() * 20000) * 2;
  peer = await startBaresip({
    dir: path.join(work, 'baresip'),
    user: 'bob',
    sipPort,
    ctrlPort,
    rtpBase,
    logFile: path.join(work, 'logs', 'baresip.log'),
  });
  peer.sipPort = sipPort;
  step(`baresip auto-answers at ${peer.uri}`);
  return peer;
}

/**
 * A further baresip peer (auto-answering, loopback) for one test: `name` names its folder and
 * its log (logs/<name>.log). The caller closes it.
 */
async function startExtraPeer(user, name = `baresip-${user}`, display = undefined) {
  return startBaresip({
    display,
    dir: path.join(work, name),
    user,
    sipPort: await freeSipPort(),
    ctrlPort: await freeTcpPort(),
    rtpBase: 20000 + Math.floor(Math.random() * 20000) * 2,
    logFile: path.join(work, 'logs', `${name}.log`),
  });
}

/** Writes a direct-call profile (no registrar) with its own history file. */
function writeProfile(name, extraAccountLines = []) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const profile = path.join(dir, 'profile.toml');
  writeFileSync(
    profile,
    [
      `history_db = ${JSON.stringify(path.join(dir, 'history.sqlite3'))}`,
      '[account]',
      'aor = "sip:alice@127.0.0.1"',
      'display_name = "Alice E2E"',
      'register = false',
      ...extraAccountLines,
      '',
    ].join('\n'),
  );
  return profile;
}

/** History rows as the page shows them (outcome attribute and visible text). */
function historyRows() {
  return browser.execute(() =>
    [...document.querySelectorAll('[data-testid="history-row"]')].map((row) => ({
      outcome: row.getAttribute('data-outcome'),
      text: row.innerText,
    })),
  );
}

/** The app's environment: its profile file, no audio devices, nothing of the user's. */
function appEnv(profile, overrides = {}) {
  return appEnvironment({ display, work, profile, overrides });
}

/** Starts tauri-driver (which starts WebKitWebDriver, which starts the app) and opens a session. */
async function launchApp(name, profile, envOverrides = {}, appArgs = []) {
  const driverPort = await freeTcpPort();
  const nativePort = await freeTcpPort();
  driver = start('tauri-driver', tauriDriver, ['--port', String(driverPort), '--native-port', String(nativePort)], {
    // The window's own storage (last view, language choice) is the launch's: a test starts
    // where a new user would, unless it passes the folder of an earlier launch.
    env: appEnv(profile, { XDG_DATA_HOME: path.join(work, 'data', name), ...envOverrides }),
    logFile: path.join(work, 'logs', `${name}-tauri-driver-and-app.log`),
  });
  const current = driver;
  // Plain TCP probes of tauri-driver and of the WebKitWebDriver it starts.
  await waitFor(
    `tauri-driver on port ${driverPort} and WebKitWebDriver on ${nativePort}`,
    async () => {
      if (current.exited) throw new Error(`tauri-driver exited (${current.exitCode})`);
      return (await accepts(driverPort)) && (await accepts(nativePort));
    },
    20000,
  );
  browser = await remote({
    hostname: '127.0.0.1',
    port: driverPort,
    logLevel: 'warn',
    connectionRetryTimeout: 120_000,
    connectionRetryCount: 0,
    capabilities: {
      'tauri:options': { application: appBin, args: appArgs },
      'wdio:enforceWebDriverClassic': true,
    },
  });
  step(`${name}: app launched through tauri-driver on ${driverPort}`);
  return browser;
}

/** Ends the session and the driver (and with it the app). */
async function closeApp() {
  if (browser) {
    await browser.deleteSession().catch(() => {});
    browser = null;
  }
  if (driver) {
    await stop(driver);
    driver = null;
  }
}

const byTestId = (id) => browser.$(`[data-testid="${id}"]`);

/** openbox on the test display (once): minimising, focus and closing need a window manager. */
let windowManager = null;
function ensureWindowManager() {
  for (const tool of ['openbox', 'wmctrl']) {
    assert.ok(
      (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, tool))),
      `${tool} is needed to handle windows like a desktop does: apt-get install openbox wmctrl`,
    );
  }
  if (!windowManager) {
    windowManager = start('openbox', 'openbox', [], { env: { ...process.env, DISPLAY: display }, logFile: path.join(work, 'logs', 'openbox.log') });
  }
}

/** The X windows the window manager lists: id and title. */
function xWindows() {
  const out = execFileSync('wmctrl', ['-l'], { env: { ...process.env, DISPLAY: display } }).toString();
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, , , ...title] = line.split(/\s+/);
      return { id: Number(id), title: title.join(' ') };
    });
}

/** Whether `xprop` (x11-utils) is there to read which window has the focus. */
const hasXprop = (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, 'xprop')));

/** Runs xdotool on the test display (keys pressed as a user would, window sizes); its output. */
function xdotool(...args) {
  return execFileSync('xdotool', args, { env: { ...process.env, DISPLAY: display } }).toString().trim();
}

/** The X window that has the keyboard focus (the window manager's _NET_ACTIVE_WINDOW), or null. */
function activeXWindow() {
  const out = execFileSync('xprop', ['-root', '_NET_ACTIVE_WINDOW'], { env: { ...process.env, DISPLAY: display } }).toString();
  const id = out.match(/window id # (0x[0-9a-f]+)/i)?.[1];
  return id ? Number(id) : null;
}

after(async () => {
  // Evidence first (a window still open here means a test failed in it), then tear everything down.
  if (browser) {
    const failurePng = path.join(artifacts, 'app-failure.png');
    if (display) xScreenshot(path.join(artifacts, 'screen-failure.png'));
    if ((await screenshot(failurePng)) || (display && xScreenshot(failurePng))) step(`screenshot: ${failurePng}`);
    // The call test writes app.png when it gets through; otherwise this is the picture to look at.
    if (!existsSync(path.join(artifacts, 'app.png'))) cpSync(failurePng, path.join(artifacts, 'app.png'));
  }
  if (peer) {
    writeFileSync(path.join(artifacts, 'baresip-events.json'), JSON.stringify(peer.events, null, 1));
    await peer.close();
  }
  await closeApp();
  await stopAll();
  try {
    cpSync(path.join(work, 'logs'), path.join(artifacts, 'logs'), { recursive: true });
  } catch {
    // No logs yet.
  }
  rmSync(work, { recursive: true, force: true });
});

test('first start without a profile shows the account form; saving it opens the phone', { timeout: 180_000 }, async () => {
  await setUp();
  const profile = path.join(work, 'first-run', 'profile.toml');
  await launchApp('first-run', profile);

  const form = await byTestId('settings-form');
  await form.waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the account form did not appear without a profile' });
  assert.match(await (await byTestId('account-status')).getText(), /No account/);
  assert.equal(await (await byTestId('dial-input')).isExisting(), false, 'the dial pad is shown without an account');

  await (await browser.$('#f-aor')).setValue('sip:alice@127.0.0.1');
  await (await browser.$('#f-name')).setValue('Alice First-Run');
  const register = await browser.$('input[name="register"]');
  if (await register.isSelected()) await register.click();
  await screenshot(path.join(artifacts, 'app-settings.png'));
  await (await form.$('button[type="submit"]')).click();

  await (await byTestId('dial-input')).waitForDisplayed({ timeout: 20_000, timeoutMsg: 'saving the account did not open the phone' });
  assert.match(await (await byTestId('account-status')).getText(), /Direct calls only/);
  const saved = readFileSync(profile, 'utf8');
  assert.match(saved, /aor = "sip:alice@127\.0\.0\.1"/, saved);
  assert.match(saved, /register = false/, saved);
  assert.match(saved, /display_name = "Alice First-Run"/, saved);
  step('first-run: account saved, phone shown');
  await closeApp();
});

test('the app calls a SIP peer, sends DTMF, hangs up and lists the call in history', { timeout: 240_000 }, async () => {
  await setUp();
  rmSync(path.join(artifacts, 'app.png'), { force: true });

  // 1. The remote phone, and a profile for direct calls without audio devices.
  await ensurePeer();
  const sipPort = peer.sipPort;
  const profile = writeProfile('call', ['listen = "127.0.0.1:0"']);
  await launchApp('call', profile);

  // 3. Window up, profile loaded (no settings form), status bar shows the direct-call account.
  const dialInput = await byTestId('dial-input');
  await dialInput.waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the dial input never appeared in the app window' });
  step('window up');
  const status = await (await byTestId('account-status')).getText();
  assert.match(status, /Direct calls only/, `account status: ${status}`);
  assert.equal(await (await byTestId('settings-form')).isExisting(), false, 'the settings form is shown although a profile exists');

  // 4. Type the peer and check typing works.
  await dialInput.setValue(peer.uri);
  assert.equal(await dialInput.getValue(), peer.uri);
  assert.equal(await (await byTestId('dial-button')).isEnabled(), true, 'the Call button stays disabled with a target typed');
  await screenshot(path.join(artifacts, 'app-typed.png'));
  step(`typed ${peer.uri}; screenshot app-typed.png`);

  // 5. Enter dials; the peer auto-answers.
  await dialInput.addValue('\uE007');
  const callState = await byTestId('call-state');
  const banner = await byTestId('error-banner');
  const failIfBanner = async () => {
    if (await banner.isExisting()) throw new Error(`the app reported: ${await banner.getText()}`);
  };
  await browser.waitUntil(
    async () => {
      await failIfBanner();
      return callState.isExisting();
    },
    { timeout: 10_000, interval: 250, timeoutMsg: 'no call card appeared after pressing Enter' },
  );
  await browser.waitUntil(
    async () => {
      await failIfBanner();
      return (await callState.getText()).includes('Connected');
    },
    { timeout: 20_000, interval: 250, timeoutMsg: 'the call never reached Connected' },
  );
  assert.ok(peer.hasEvent('CALL_ESTABLISHED'), 'the app says Connected but baresip did not report the call established');
  await screenshot(path.join(artifacts, 'app-connected.png'));
  step('connected');

  // 6. DTMF 1 2 3 (clicked) and 4 (typed) reach the peer as RFC 4733 events; mute toggles.
  for (const digit of ['1', '2', '3']) {
    await (await byTestId(`dtmf-key-${digit}`)).click();
    await sleep(400);
  }
  await waitFor('baresip to report DTMF 123', () => peer.dtmfReceived().includes('123'), 10_000);
  // A digit typed on the keyboard (focus on a key, not in a text field) is a tone too.
  await browser.keys(['4']);
  await waitFor('baresip to report the typed DTMF 4', () => peer.dtmfReceived().includes('1234'), 10_000);
  step(`baresip received DTMF ${peer.dtmfReceived()}`);
  assert.match(await (await byTestId('call-card')).getText(), /Sent 1234/, 'the call card does not list the digits sent');

  // Mute toggles in the engine and back.
  const mute = await byTestId('mute-button');
  await mute.click();
  await browser.waitUntil(async () => (await mute.getAttribute('aria-pressed')) === 'true', {
    timeout: 5_000,
    timeoutMsg: 'the mute button did not turn on',
  });
  await mute.click();
  await browser.waitUntil(async () => (await mute.getAttribute('aria-pressed')) === 'false', {
    timeout: 5_000,
    timeoutMsg: 'the mute button did not turn off',
  });
  step('mute on and off');

  // 7. Hang up.
  await (await byTestId('hangup-button')).click();
  await browser.waitUntil(
    async () => !(await callState.isExisting()) || (await callState.getText()).includes('Ended'),
    { timeout: 10_000, timeoutMsg: 'the call card never showed Ended after hang-up' },
  );
  await waitFor('baresip to see the call closed', () => peer.hasEvent('CALL_CLOSED'), 10_000);
  await screenshot(path.join(artifacts, 'app-hung-up.png'));
  step('hung up');

  // 8. History has the answered call with the peer. (Read in the page: WebKitWebDriver's
  // element-text heuristics drop the ellipsised remote cell, the page's innerText does not.)
  const peerLabel = `bob@127.0.0.1:${sipPort}`;
  await browser.waitUntil(
    async () => {
      const rows = await historyRows();
      return rows.some((row) => row.outcome === 'answered' && row.text.includes(peerLabel));
    },
    { timeout: 10_000, timeoutMsg: `no answered history row for ${peerLabel}` },
  );
  step('history row present');
  const appPng = path.join(artifacts, 'app.png');
  if ((await screenshot(appPng)) || xScreenshot(appPng)) step(`screenshot: ${appPng}`);
  await closeApp();
});

test('links: a second start with a sip: link asks, then calls the peer; a bad tel: link is refused', { timeout: 240_000 }, async () => {
  await setUp();
  await ensurePeer();
  // Single-instance hands a second start's command line over D-Bus: a private session bus.
  const busAddress = `unix:path=${path.join(work, 'links-bus')}`;
  const dbus = start('dbus-daemon', 'dbus-daemon', ['--session', '--nofork', `--address=${busAddress}`], {
    logFile: path.join(work, 'logs', 'links-dbus.log'),
  });
  await waitFor('the private D-Bus session bus', () => existsSync(path.join(work, 'links-bus')), 10_000);
  const profile = writeProfile('links', ['listen = "127.0.0.1:0"']);
  const bus = { DBUS_SESSION_BUS_ADDRESS: busAddress };
  await launchApp('links', profile, bus);
  await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
  // The app is the one that opens a link: `hookflash-app <link>` as the desktop starts it.
  const secondStart = async (name, ...args) => {
    const second = start(name, appBin, args, { env: appEnv(profile, bus), logFile: path.join(work, 'logs', `${name}.log`) });
    await waitFor(`the second start (${args.join(' ')}) to hand over and exit`, () => second.exited, 30_000);
    assert.equal(second.exitCode, 0, `the second start exited with ${second.exitCode} (logs/${name}.log)`);
  };

  // A good link: the confirm bar names it; nothing is dialled before Call.
  let mark = peer.events.length;
  await secondStart('links-second-start', peer.uri);
  const confirm = await byTestId('link-confirm');
  await confirm.waitForDisplayed({ timeout: 10_000, timeoutMsg: `no confirm bar after a second start with ${peer.uri}` });
  assert.equal(await (await byTestId('link-confirm-target')).getText(), peer.uri);
  await screenshot(path.join(artifacts, 'app-link-confirm.png'));
  assert.deepEqual(peer.events.slice(mark), [], 'the link was dialled before Call was pressed');
  await (await byTestId('link-confirm-call')).click();
  const callState = await byTestId('call-state');
  await browser.waitUntil(async () => (await callState.isExisting()) && (await callState.getText()).includes('Connected'), {
    timeout: 20_000,
    timeoutMsg: 'the link’s call never showed Connected',
  });
  await waitFor('baresip to see the link’s call established', () => peer.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 10_000);
  assert.equal(await confirm.isExisting(), false, 'the confirm bar stayed after Call');
  step('link confirmed and connected');
  await (await byTestId('hangup-button')).click();
  await waitFor('baresip to see the link’s call closed', () => peer.eventsSince(mark, 'CALL_CLOSED').length > 0, 10_000);

  // A bad link: its sentence in the banner, no confirm bar, nothing dialled.
  mark = peer.events.length;
  await secondStart('links-bad-link', 'tel:+49-30-12ab');
  const banner = await byTestId('error-banner');
  await banner.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'a bad link showed no message' });
  assert.match(await banner.getText(), /Link not called: .*\+49-30-12ab.* has letters in it/);
  await sleep(1000);
  assert.equal(await (await byTestId('link-confirm')).isExisting(), false, 'a bad link showed the confirm bar');
  assert.deepEqual(peer.events.slice(mark), [], 'a bad link dialled the peer');
  await screenshot(path.join(artifacts, 'app-link-refused.png'));
  step('bad link refused');

  // `hookflash-app dial <address>` asks the same way; Cancel dials nothing.
  mark = peer.events.length;
  await secondStart('links-dial', 'dial', peer.uri);
  await confirm.waitForDisplayed({ timeout: 10_000, timeoutMsg: `no confirm bar after \`hookflash-app dial ${peer.uri}\`` });
  assert.equal(await (await byTestId('link-confirm-target')).getText(), peer.uri);
  await (await byTestId('link-confirm-cancel')).click();
  await confirm.waitForDisplayed({ reverse: true, timeout: 5_000, timeoutMsg: 'Cancel left the confirm bar' });
  await sleep(1000);
  assert.deepEqual(peer.events.slice(mark), [], 'a cancelled link dialled the peer');
  step('dial from the command line asked; Cancel dialled nothing');
  await closeApp();

  // The first start's own link (the desktop starts Hookflash with it): asked once the window is up.
  await launchApp('links-first-start', profile, bus, ['tel:+49%2030%20123']);
  await (await byTestId('link-confirm')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'no confirm bar for the first start’s own link' });
  assert.equal(await (await byTestId('link-confirm-target')).getText(), '+49 30 123');
  await screenshot(path.join(artifacts, 'app-link-first-start.png'));
  await (await byTestId('link-confirm-cancel')).click();
  step('first start with a tel: link asked');
  await closeApp();
  await stop(dbus);
});

test('incoming calls ring; one is answered, one declined with 603', { timeout: 240_000 }, async () => {
  await setUp();
  await ensurePeer();
  const appPort = await freeSipPort();
  const profile = writeProfile('incoming', [`listen = "127.0.0.1:${appPort}"`]);
  await launchApp('incoming', profile);
  await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
  const appUri = `sip:alice@127.0.0.1:${appPort}`;
  const incoming = await byTestId('incoming-card');
  const callState = await byTestId('call-state');

  // Answered, then the peer hangs up.
  let mark = peer.events.length;
  peer.command('dial', appUri);
  await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: `no incoming-call card after baresip dialled ${appUri}` });
  await screenshot(path.join(artifacts, 'app-incoming.png'));
  // innerText, as the other card checks: WebDriver's own getText leaves out text in a box that
  // cuts it with an ellipsis (`truncate`), although it is on screen.
  assert.match(await browser.execute(() => document.querySelector('[data-testid="incoming-card"]').innerText), /bob@127\.0\.0\.1/);
  await (await byTestId('answer-button')).click();
  await browser.waitUntil(async () => (await callState.isExisting()) && (await callState.getText()).includes('Connected'), {
    timeout: 10_000,
    timeoutMsg: 'the answered call never showed Connected',
  });
  await waitFor('baresip to see the call established', () => peer.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 10_000);
  step('incoming call answered');
  peer.command('hangup');
  await browser.waitUntil(async () => !(await callState.isExisting()) || (await callState.getText()).includes('Ended'), {
    timeout: 10_000,
    timeoutMsg: 'the call did not end in the app after the peer hung up',
  });
  await browser.waitUntil(
    async () => (await historyRows()).some((row) => row.outcome === 'answered' && row.text.includes('bob@127.0.0.1')),
    { timeout: 10_000, timeoutMsg: 'no answered history row for the incoming call' },
  );
  step('peer hung up; history row present');

  // Declined: the peer hears 603.
  await browser.waitUntil(async () => !(await callState.isExisting()), { timeout: 10_000, timeoutMsg: 'the ended call card stayed' });
  mark = peer.events.length;
  peer.command('dial', appUri);
  await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming-call card for the second call' });
  await (await byTestId('decline-button')).click();
  const closed = await waitFor('baresip to see the call closed', () => peer.eventsSince(mark, 'CALL_CLOSED')[0], 10_000);
  assert.match(String(closed.param), /603/, `baresip saw the call closed with: ${closed.param}`);
  await incoming.waitForExist({ reverse: true, timeout: 10_000, timeoutMsg: 'the incoming card stayed after decline' });
  await browser.waitUntil(async () => (await historyRows()).some((row) => row.outcome === 'rejected'), {
    timeout: 10_000,
    timeoutMsg: 'no rejected history row after declining',
  });
  step(`declined; baresip saw "${closed.param}"`);

  // A caller with a long name: one line, cut with "…", the whole name on hover.
  const longName = 'Bartholomew Fitzgerald-Montgomery of Accounts Receivable, Northern Region';
  const fitz = await startExtraPeer('fitzgerald-montgomery', 'baresip-long-name', longName);
  try {
    mark = fitz.events.length;
    fitz.command('dial', appUri);
    await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming-call card for the long-named caller' });
    const shown = await browser.execute(() => {
      const el = document.querySelector('[data-testid="incoming-card"] [data-testid="call-remote"]');
      const style = el && getComputedStyle(el);
      return el && { text: el.textContent, title: el.title, nowrap: style.whiteSpace === 'nowrap', cut: el.scrollWidth > el.clientWidth, lines: Math.round(el.getBoundingClientRect().height / parseFloat(style.lineHeight || '20')) };
    });
    assert.ok(shown, 'no caller name on the incoming card');
    assert.equal(shown.title, longName, 'the whole name is not on hover');
    assert.ok(shown.nowrap && shown.cut, `the long name is not one cut line: ${JSON.stringify(shown)}`);
    await screenshot(path.join(artifacts, 'app-incoming-long-name.png'));
    await (await byTestId('decline-button')).click();
    await waitFor('the long-named caller to see the call closed', () => fitz.eventsSince(mark, 'CALL_CLOSED').length > 0, 10_000);
    step('a long caller name is one line, cut, whole on hover');
  } finally {
    await fitz.close();
  }
  await closeApp();
});

/** Double-clicks like a user; falls back to a dblclick event if the driver lacks pointer actions. */
async function doubleClick(element) {
  try {
    await element.doubleClick();
  } catch (error) {
    step(`pointer double-click unavailable (${error.message.split('\n')[0]}); dispatching dblclick`);
    await browser.execute((el) => el.dispatchEvent(new MouseEvent('dblclick', { bubbles: true })), element);
  }
}

/** The parked rows as the page shows them. */
function parkedRows() {
  return browser.execute(() =>
    [...document.querySelectorAll('[data-testid="parked-call"]')].map((row) => ({ id: row.getAttribute('data-call-id'), text: row.innerText })),
  );
}

/** Text of every call card (active or just ended). */
function callCards() {
  return browser.execute(() => [...document.querySelectorAll('[data-testid="call-card"]')].map((card) => card.innerText));
}

test('two calls at once: answering parks the first, double-click switches, hanging up one keeps the other', { timeout: 240_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  const carol = await startExtraPeer('carol');
  try {
    const appPort = await freeSipPort();
    const profile = writeProfile('multicall', [`listen = "127.0.0.1:${appPort}"`]);
    await launchApp('multicall', profile);
    await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
    const appUri = `sip:alice@127.0.0.1:${appPort}`;
    const banner = await byTestId('error-banner');
    const noBanner = async () => {
      if (await banner.isExisting()) throw new Error(`the app reported: ${await banner.getText()}`);
    };
    const until = (what, fn, timeout = 10_000) =>
      browser.waitUntil(
        async () => {
          await noBanner();
          return fn();
        },
        { timeout, interval: 250, timeoutMsg: what },
      );

    // 1. bob calls; answered.
    const bobMark = bob.events.length;
    bob.command('dial', appUri);
    const incoming = await byTestId('incoming-card');
    await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for bob' });
    assert.equal(await (await byTestId('answer-parks')).isExisting(), false, 'nothing to park yet, but the card says so');
    await (await byTestId('answer-button')).click();
    await until('bob never showed Connected', async () => (await callCards()).some((t) => t.includes('bob@') && t.includes('Connected')));

    // 2. carol calls while bob is connected: call waiting, and the card says answering parks bob.
    const carolMark = carol.events.length;
    carol.command('dial', appUri);
    await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for carol while on a call' });
    assert.match(await (await byTestId('answer-parks')).getText(), /Answering parks bob@127\.0\.0\.1/);
    assert.equal(await (await byTestId('call-waiting')).isExisting(), true, 'no call-waiting indicator on the connected call');
    await screenshot(path.join(artifacts, 'app-call-waiting.png'));
    await (await byTestId('answer-button')).click();
    await until('carol never showed Connected', async () => (await callCards()).some((t) => t.includes('carol@') && t.includes('Connected')));
    await until('bob is not in the parked list after answering carol', async () => (await parkedRows()).some((r) => r.text.includes('bob@')));
    await screenshot(path.join(artifacts, 'app-parked.png'));
    step('answered carol; bob parked');

    // 3. Double-click bob: bob active, carol parked.
    // On the name: the row's buttons (Switch, Merge, hang up) are not what is double-clicked.
    const bobRow = await browser.$('[data-testid="parked-call"] [data-testid="parked-remote"]');
    await doubleClick(bobRow);
    await until('double-click did not make bob active', async () => (await callCards()).some((t) => t.includes('bob@') && t.includes('Connected')));
    await until('carol is not parked after switching to bob', async () => (await parkedRows()).some((r) => r.text.includes('carol@')));
    assert.equal((await parkedRows()).length, 1, `parked: ${JSON.stringify(await parkedRows())}`);
    await screenshot(path.join(artifacts, 'app-switched.png'));
    step('switched to bob by double-click');

    // 4. Hang up bob; carol stays (parked), nothing dropped on her side.
    await (await byTestId('hangup-button')).click();
    await waitFor('bob to see his call closed', () => bob.eventsSince(bobMark, 'CALL_CLOSED').length > 0, 10_000);
    await sleep(1000);
    assert.equal(carol.eventsSince(carolMark, 'CALL_CLOSED').length, 0, 'carol was dropped when bob hung up');
    const rows = await parkedRows();
    assert.ok(rows.length === 1 && rows[0].text.includes('carol@'), `parked after hang-up: ${JSON.stringify(rows)}`);

    // 5. Back to carol with Enter on her row, then hang up.
    const carolRow = await browser.$('[data-testid="parked-call"]');
    await browser.execute((el) => el.focus(), carolRow);
    await browser.keys(['Enter']);
    await until('Enter did not make carol active', async () => (await callCards()).some((t) => t.includes('carol@') && t.includes('Connected')));
    const connectedCard = await browser.$('[data-testid="call-card"]:not(.ended)');
    await (await connectedCard.$('[data-testid="hangup-button"]')).click();
    await waitFor('carol to see her call closed', () => carol.eventsSince(carolMark, 'CALL_CLOSED').length > 0, 10_000);
    await until('history does not show both calls answered', async () => {
      const history = await historyRows();
      return history.some((r) => r.outcome === 'answered' && r.text.includes('carol@')) && history.some((r) => r.outcome === 'answered' && r.text.includes('bob@'));
    });
    step('hung up both; two answered history rows');
    await closeApp();
  } finally {
    await carol.close();
  }
});

test('consult transfer: the caller is parked while the user consults a colleague, then the two are connected', { timeout: 240_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  const carol = await startExtraPeer('carol', 'baresip-carol-consult');
  try {
    const appPort = await freeSipPort();
    const profile = writeProfile('consult', [`listen = "127.0.0.1:${appPort}"`]);
    await launchApp('consult', profile);
    await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
    const appUri = `sip:alice@127.0.0.1:${appPort}`;
    const until = (what, fn, timeout = 10_000) => browser.waitUntil(fn, { timeout, interval: 250, timeoutMsg: what });

    // 1. carol calls; answered.
    const bobMark = bob.events.length;
    carol.command('dial', appUri);
    const incoming = await byTestId('incoming-card');
    await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for carol' });
    await (await byTestId('answer-button')).click();
    await until('carol never showed Connected', async () => (await callCards()).some((t) => t.includes('carol@') && t.includes('Connected')));

    // 2. Transfer → type bob → "Consult first": carol is parked, bob is called (he answers).
    await (await byTestId('transfer-button')).click();
    await (await byTestId('transfer-target')).setValue(bob.uri);
    await screenshot(path.join(artifacts, 'app-transfer-form.png'));
    await (await byTestId('transfer-consult')).click();
    const bar = await byTestId('consult-bar');
    await bar.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no consult bar after "Consult first"' });
    await until('carol is not parked while consulting', async () => (await parkedRows()).some((r) => r.text.includes('carol@')));
    const complete = await byTestId('consult-complete');
    await until('"Complete transfer" never became available (bob did not answer?)', () => complete.isEnabled());
    assert.match(await bar.getText(), /Consulting bob@127\.0\.0\.1:\d+ · carol@127\.0\.0\.1:\d+ is parked/);
    await screenshot(path.join(artifacts, 'app-consulting.png'));
    step('consulting bob with carol parked');

    // 3. Complete: carol is referred to bob (with Replaces); bob takes carol's call; both our
    //    calls end "transferred" and the consult bar goes away.
    await complete.click();
    await waitFor(
      "bob to be connected with carol",
      () => bob.eventsSince(bobMark, 'CALL_ESTABLISHED').some((e) => String(e.peeruri ?? e.param).includes('carol@')),
      15_000,
    );
    await until(
      'our two calls did not both end "transferred to" (ended cards stay 4 s)',
      async () => (await parkedRows()).length === 0 && (await callCards()).filter((t) => t.includes('transferred to')).length === 2,
    );
    assert.equal(await bar.isExisting(), false, 'the consult bar stayed after the transfer');
    const banner = await byTestId('error-banner');
    assert.equal(await banner.isExisting(), false, `a successful transfer shown as a problem: ${(await banner.isExisting()) ? await banner.getText() : ''}`);
    assert.match(await (await byTestId('notice-banner')).getText(), /transferred to/);
    await screenshot(path.join(artifacts, 'app-transferred.png'));
    step('transferred: carol and bob connected, our two calls ended');
    await closeApp();
  } finally {
    await carol.close();
  }
});

/** The conference card's party rows as the page shows them. */
function conferenceParties() {
  return browser.execute(() =>
    [...document.querySelectorAll('[data-testid^="conference-party-"]')].map((row) => ({ id: row.getAttribute('data-call-id'), text: row.innerText })),
  );
}

test('3-way then leave: "Conference all" merges the caller and the colleague; Leave connects them to each other', { timeout: 240_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  const carol = await startExtraPeer('carol', 'baresip-carol-3way');
  try {
    const appPort = await freeSipPort();
    const profile = writeProfile('three-way', [`listen = "127.0.0.1:${appPort}"`]);
    await launchApp('three-way', profile);
    await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
    const appUri = `sip:alice@127.0.0.1:${appPort}`;
    const banner = await byTestId('error-banner');
    const noBanner = async () => {
      if (await banner.isExisting()) throw new Error(`the app reported: ${await banner.getText()}`);
    };
    const until = (what, fn, timeout = 10_000) =>
      browser.waitUntil(
        async () => {
          await noBanner();
          return fn();
        },
        { timeout, interval: 250, timeoutMsg: what },
      );

    // 1. carol calls; answered.
    const bobMark = bob.events.length;
    const carolMark = carol.events.length;
    carol.command('dial', appUri);
    const incoming = await byTestId('incoming-card');
    await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for carol' });
    await (await byTestId('answer-button')).click();
    await until('carol never showed Connected', async () => (await callCards()).some((t) => t.includes('carol@') && t.includes('Connected')));

    // 2. Consult bob (carol parked), then "Conference all" once he answers.
    await (await byTestId('transfer-button')).click();
    await (await byTestId('transfer-target')).setValue(bob.uri);
    await (await byTestId('transfer-consult')).click();
    const bar = await byTestId('consult-bar');
    await bar.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no consult bar after "Consult first"' });
    const conferenceAll = await byTestId('consult-conference');
    await until('"Conference all" never became available (bob did not answer?)', () => conferenceAll.isEnabled());
    await conferenceAll.click();

    // 3. One conference card with both parties; no separate call cards, nothing parked, the
    //    consult bar gone.
    const card = await byTestId('conference-card');
    await card.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no conference card after "Conference all"' });
    await until('the conference card does not list carol and bob', async () => {
      const parties = await conferenceParties();
      return parties.length === 2 && parties.some((p) => p.text.includes('carol@')) && parties.some((p) => p.text.includes('bob@'));
    });
    assert.match(await (await card.$('h2')).getText(), /Conference \(2\)/i);
    assert.match(await (await byTestId('conference-state')).getText(), /In conference/);
    assert.equal(await bar.isExisting(), false, 'the consult bar stayed after merging the consultation into a conference');
    assert.deepEqual(await callCards(), [], 'the conference\'s calls still have their own call cards');
    assert.deepEqual(await parkedRows(), [], 'a conference party is still listed as parked');
    const parties = await conferenceParties();
    assert.equal(carol.eventsSince(carolMark, 'CALL_CLOSED').length + bob.eventsSince(bobMark, 'CALL_CLOSED').length, 0, 'a party was dropped by the merge');

    // Per-party mute toward the conference, and the user's own mute, toggle in the engine and back.
    const carolId = parties.find((p) => p.text.includes('carol@')).id;
    const muteCarol = await byTestId(`conference-mute-${carolId}`);
    await muteCarol.click();
    await until('muting carol toward the conference did not take', async () => (await muteCarol.getAttribute('aria-pressed')) === 'true');
    assert.match(await (await byTestId(`conference-party-${carolId}`)).getText(), /Muted toward the conference/);
    const muteMe = await byTestId('conference-mute-me');
    await muteMe.click();
    await until('"Mute me" did not turn on', async () => (await muteMe.getAttribute('aria-pressed')) === 'true');
    const conferencePng = path.join(artifacts, 'app-conference.png');
    if ((await screenshot(conferencePng)) || xScreenshot(conferencePng)) step(`screenshot: ${conferencePng}`);
    await muteCarol.click();
    await until('carol stayed muted toward the conference', async () => (await muteCarol.getAttribute('aria-pressed')) === 'false');
    await muteMe.click();
    await until('"Mute me" did not turn off', async () => (await muteMe.getAttribute('aria-pressed')) === 'false');
    step(`conference of ${parties.map((p) => p.text.split('\n')[0]).join(' and ')}`);

    // 4. Leave: with two parties they are connected to each other (REFER with Replaces) and our
    //    calls end "transferred"; then the window has no call left.
    await (await byTestId('conference-leave')).click();
    const connected = () =>
      bob.eventsSince(bobMark, 'CALL_ESTABLISHED').some((e) => String(e.peeruri ?? e.param).includes('carol@')) ||
      carol.eventsSince(carolMark, 'CALL_ESTABLISHED').some((e) => String(e.peeruri ?? e.param).includes('bob@'));
    await waitFor('bob and carol to be connected to each other', connected, 15_000);
    await until('the conference card stayed after leaving', async () => !(await card.isExisting()));
    await until(
      'our two calls did not both end "transferred to"',
      async () => (await parkedRows()).length === 0 && (await callCards()).filter((t) => t.includes('transferred to')).length === 2,
    );
    await screenshot(path.join(artifacts, 'app-conference-left.png'));
    await until('ended call cards stayed (no calls should be left)', async () => (await callCards()).length === 0, 10_000);
    assert.equal(await (await byTestId('incoming-card')).isExisting(), false);
    assert.equal(await banner.isExisting(), false, `leaving shown as a problem: ${(await banner.isExisting()) ? await banner.getText() : ''}`);
    step('left the conference: bob and carol connected, no calls left here');
    // The two peers' call is theirs; end it so bob is free for the next test.
    bob.command('hangup');
    await closeApp();
  } finally {
    await carol.close();
  }
});

test('a conference of three: answering parks it, Merge adds the caller, Leave is refused ("Hand to" each party offered) and "End conference for everyone" ends it', { timeout: 240_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  const peerOf = (user) => startExtraPeer(user, `baresip-${user}-4way`);
  const carol = await peerOf('carol');
  const dave = await peerOf('dave');
  try {
    const appPort = await freeSipPort();
    const profile = writeProfile('four-way', [`listen = "127.0.0.1:${appPort}"`]);
    await launchApp('four-way', profile);
    await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
    const appUri = `sip:alice@127.0.0.1:${appPort}`;
    const banner = await byTestId('error-banner');
    const noBanner = async () => {
      if (await banner.isExisting()) throw new Error(`the app reported: ${await banner.getText()}`);
    };
    const until = (what, fn, timeout = 10_000) =>
      browser.waitUntil(
        async () => {
          await noBanner();
          return fn();
        },
        { timeout, interval: 250, timeoutMsg: what },
      );
    const marks = { bob: bob.events.length, carol: carol.events.length, dave: dave.events.length };
    const incoming = await byTestId('incoming-card');
    const card = await byTestId('conference-card');
    const state = await byTestId('conference-state');

    // 1. carol calls, answered; consult bob; "Conference all".
    carol.command('dial', appUri);
    await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for carol' });
    await (await byTestId('answer-button')).click();
    await until('carol never showed Connected', async () => (await callCards()).some((t) => t.includes('carol@') && t.includes('Connected')));
    await (await byTestId('transfer-button')).click();
    await (await byTestId('transfer-target')).setValue(bob.uri);
    await (await byTestId('transfer-consult')).click();
    const conferenceAll = await byTestId('consult-conference');
    await until('"Conference all" never became available', async () => (await conferenceAll.isExisting()) && (await conferenceAll.isEnabled()));
    await conferenceAll.click();
    await until('no conference of two', async () => (await conferenceParties()).length === 2);

    // 2. dave calls: answering parks the conference (everyone hears music).
    dave.command('dial', appUri);
    await incoming.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for dave during the conference' });
    assert.match(await (await byTestId('answer-parks')).getText(), /Answering parks the conference/);
    await (await byTestId('answer-button')).click();
    await until('dave never showed Connected', async () => (await callCards()).some((t) => t.includes('dave@') && t.includes('Connected')));
    await until('the conference is not shown on hold', async () => /On hold/.test(await state.getText()));
    assert.equal((await conferenceParties()).length, 2);
    await screenshot(path.join(artifacts, 'app-conference-parked.png'));

    // 3. Back to the conference (dave parked), then dave's Merge: three parties.
    await (await byTestId('conference-return')).click();
    await until('"Return to conference" did not bring the user back', async () => /In conference/.test(await state.getText()));
    await until('dave is not parked after returning to the conference', async () => (await parkedRows()).some((r) => r.text.includes('dave@')));
    await (await byTestId('merge-button')).click();
    await until('Merge did not add dave to the conference', async () => {
      const parties = await conferenceParties();
      return parties.length === 3 && ['carol@', 'bob@', 'dave@'].every((who) => parties.some((p) => p.text.includes(who)));
    });
    assert.match(await (await card.$('h2')).getText(), /Conference \(3\)/i);
    assert.deepEqual(await parkedRows(), [], 'dave is still listed as parked after the merge');
    assert.deepEqual(await callCards(), [], 'a conference call still has its own card');
    assert.equal(bob.eventsSince(marks.bob, 'CALL_CLOSED').length + carol.eventsSince(marks.carol, 'CALL_CLOSED').length + dave.eventsSince(marks.dave, 'CALL_CLOSED').length, 0, 'a party was dropped');
    step('conference of three');

    // 4. Leave is refused: the mix is on this phone. The reason is shown, and ending it offered.
    assert.equal(await (await byTestId('conference-end')).isExisting(), false, '"End conference for everyone" offered before leaving was refused');
    await (await byTestId('conference-leave')).click();
    await banner.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'leaving a conference of three was not refused with a reason' });
    assert.match(await banner.getText(), /leaving would end it for everyone/);
    const end = await byTestId('conference-end');
    await end.waitForDisplayed({ timeout: 5_000, timeoutMsg: 'no "End conference for everyone" after leaving was refused' });
    assert.equal((await conferenceParties()).length, 3, 'the refused leave changed the conference');
    // Handing it to one party is offered beside ending it: one "Hand to" per party. (Whether a
    // phone takes it over is the interop tests' business: baresip does not host conferences.)
    const handTexts = await browser.execute(() => [...document.querySelectorAll('[data-testid^="conference-hand-"]')].map((b) => b.textContent.trim()));
    assert.equal(handTexts.length, 3, `one "Hand to" per party: ${handTexts.join(' | ')}`);
    for (const name of ['bob', 'carol', 'dave']) assert.ok(handTexts.some((t) => t.startsWith('Hand to') && t.includes(name)), `no "Hand to" ${name}: ${handTexts.join(' | ')}`);
    const refusedPng = path.join(artifacts, 'app-conference-leave-refused.png');
    if ((await screenshot(refusedPng)) || xScreenshot(refusedPng)) step(`screenshot: ${refusedPng}`);

    // 5. End it for everyone: all three hang up, nothing is left here.
    await end.click();
    for (const [name, peer] of [['bob', bob], ['carol', carol], ['dave', dave]]) {
      await waitFor(`${name} to see the call closed`, () => peer.eventsSince(marks[name], 'CALL_CLOSED').length > 0, 10_000);
    }
    await browser.waitUntil(async () => !(await card.isExisting()), { timeout: 10_000, timeoutMsg: 'the conference card stayed after ending it' });
    await browser.waitUntil(async () => (await callCards()).length === 0 && (await parkedRows()).length === 0, {
      timeout: 10_000,
      timeoutMsg: 'calls stayed after ending the conference',
    });
    step('conference ended for everyone');
    await closeApp();
  } finally {
    await carol.close();
    await dave.close();
  }
});

test('a transfer request: the far end asks to transfer us; Decline keeps the call here, Accept calls the target', { timeout: 240_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  const carol = await startExtraPeer('carol', 'baresip-carol-asked');
  try {
    const appPort = await freeSipPort();
    const profile = writeProfile('transfer-request', [`listen = "127.0.0.1:${appPort}"`, 'transfer_requests = "ask"']);
    await launchApp('transfer-request', profile);
    const dialInput = await byTestId('dial-input');
    await dialInput.waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
    const banner = await byTestId('error-banner');
    const noBanner = async () => {
      if (await banner.isExisting()) throw new Error(`the app reported: ${await banner.getText()}`);
    };
    const until = (what, fn, timeout = 10_000) =>
      browser.waitUntil(
        async () => {
          await noBanner();
          return fn();
        },
        { timeout, interval: 250, timeoutMsg: what },
      );
    /** We call bob; once connected, bob asks (REFER) to transfer us to carol; the prompt shows. */
    const askedByBob = async (label) => {
      const mark = bob.events.length;
      await dialInput.setValue(bob.uri);
      await dialInput.addValue('\uE007');
      await until(`${label}: bob never showed Connected`, async () => (await callCards()).some((t) => t.includes('bob@') && t.includes('Connected')));
      await waitFor(`${label}: baresip bob to see the call established`, () => bob.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 10_000);
      await sleep(1000);
      bob.command('transfer', carol.uri);
      const prompt = await byTestId('transfer-request');
      await prompt.waitForDisplayed({ timeout: 10_000, timeoutMsg: `${label}: no transfer prompt after bob's REFER` });
      const text = await prompt.getText();
      assert.match(text, /bob@127\.0\.0\.1:\d+ wants to transfer you to sip:carol@127\.0\.0\.1:\d+/, text);
      const left = Number(/Declined automatically in (\d+) s/.exec(text)?.[1]);
      assert.ok(left >= 20 && left <= 30, `${label}: the countdown shows ${left} s: ${text}`);
      return prompt;
    };

    // 1. Declined: the prompt goes, the decline is news (not a problem), carol is never called.
    let prompt = await askedByBob('decline');
    await screenshot(path.join(artifacts, 'app-transfer-request.png'));
    const before = Number(/in (\d+) s/.exec(await prompt.getText())?.[1]);
    await sleep(2200);
    const after = Number(/in (\d+) s/.exec(await prompt.getText())?.[1]);
    assert.ok(after < before, `the countdown did not count down (${before} s, then ${after} s)`);
    step(`transfer prompt shown, counting down (${before} s → ${after} s)`);
    await (await byTestId('transfer-request-decline')).click();
    await prompt.waitForExist({ reverse: true, timeout: 5_000, timeoutMsg: 'the transfer prompt stayed after Decline' });
    await until('no notice that the transfer was declined', async () => {
      const notice = await byTestId('notice-banner');
      return (await notice.isExisting()) && /you declined the transfer/.test(await notice.getText());
    });
    await screenshot(path.join(artifacts, 'app-transfer-declined.png'));
    assert.equal(carol.hasEvent('CALL_INCOMING') || carol.hasEvent('CALL_ESTABLISHED'), false, 'carol was called although the transfer was declined');
    // Our call was not transferred; baresip 1.0 hangs up itself when its transfer fails, else we do.
    assert.equal((await callCards()).some((t) => t.includes('transferred to')), false, 'the call ended "transferred" after Decline');
    await sleep(1000);
    if ((await callCards()).some((t) => t.includes('bob@') && t.includes('Connected'))) await (await byTestId('hangup-button')).click();
    await until('the call with bob did not end', async () => !(await callCards()).some((t) => !t.includes('Ended')));
    await until('the ended card stayed', async () => (await callCards()).length === 0);
    step('declined: the prompt went, carol was never called');

    // 2. Accepted: we call carol (she answers) and the call with bob ends "transferred".
    const carolMark = carol.events.length;
    prompt = await askedByBob('accept');
    // The window is reloaded while the request waits: it comes back, counting down from where
    // it was (the engine's deadline), not from 30 s again.
    await sleep(2500);
    const beforeReload = Number(/in (\d+) s/.exec(await prompt.getText())?.[1]);
    await browser.refresh();
    await (await byTestId('dial-input')).waitForDisplayed({ timeout: 30_000, timeoutMsg: 'the window did not come back after the reload' });
    prompt = await byTestId('transfer-request');
    await prompt.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the waiting transfer request was lost when the window reloaded' });
    const reloaded = await prompt.getText();
    assert.match(reloaded, /bob@127\.0\.0\.1:\d+ wants to transfer you to sip:carol@127\.0\.0\.1:\d+/, reloaded);
    const afterReload = Number(/Declined automatically in (\d+) s/.exec(reloaded)?.[1]);
    assert.ok(beforeReload < 30 && afterReload > 0 && afterReload <= beforeReload, `after the reload the countdown shows ${afterReload} s (${beforeReload} s before)`);
    step(`the window reloaded: the request came back (${beforeReload} s → ${afterReload} s left)`);
    await (await byTestId('transfer-request-accept')).click();
    await prompt.waitForExist({ reverse: true, timeout: 5_000, timeoutMsg: 'the transfer prompt stayed after Accept' });
    await until('the call with carol never showed Connected', async () => (await callCards()).some((t) => t.includes('carol@') && t.includes('Connected')), 15_000);
    await waitFor('baresip carol to see our call established', () => carol.eventsSince(carolMark, 'CALL_ESTABLISHED').length > 0, 10_000);
    await until('the call with bob did not end "transferred to" carol', async () =>
      (await callCards()).some((t) => t.includes('bob@') && t.includes('transferred to')),
    );
    await screenshot(path.join(artifacts, 'app-transfer-accepted.png'));
    step('accepted: connected with carol, the call with bob ended transferred');
    await until('the call with bob stayed', async () => !(await callCards()).some((t) => t.includes('bob@')));
    await (await byTestId('hangup-button')).click();
    await until('the call with carol did not end', async () => !(await callCards()).some((t) => !t.includes('Ended')));
    await closeApp();
  } finally {
    await carol.close();
  }
});

test('shared park: the orbit slots show who is parked there; a call offers "Park on orbit"', { timeout: 180_000 }, async () => {
  await setUp();
  await ensurePeer();
  // The orbit's presence server is scripted (lib/orbit_notifier.mjs); the Rust interop test
  // tests/tests/shared_park.rs runs the same against Kamailio, baresip and a sipp orbit.
  const notifier = await startOrbitNotifier({ 701: { uri: 'sip:carol@127.0.0.1', display: 'Carol Parked' } });
  try {
    const profile = writeProfile('orbits', [
      'listen = "127.0.0.1:0"',
      '[account.shared_park]',
      'orbits = ["701-702"]',
      `domain = "127.0.0.1:${notifier.port}"`,
    ]);
    await launchApp('orbits', profile);
    const dialInput = await byTestId('dial-input');
    await dialInput.waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the dial input never appeared in the app window' });

    // Both slots listed; 701 occupied by Carol (from the NOTIFY), 702 free.
    const slotInfo = () =>
      browser.execute(() =>
        [...document.querySelectorAll('[data-testid="orbit-slot"]')].map((li) => ({
          slot: li.getAttribute('data-slot'),
          occupied: li.classList.contains('occupied'),
          who: li.querySelector('[data-testid="orbit-who"]')?.textContent?.trim() ?? '',
          retrieve: !li.querySelector('[data-testid="retrieve-button"]')?.disabled,
        })),
      );
    await browser.waitUntil(
      async () => {
        const slots = await slotInfo();
        return slots.length === 2 && slots.some((s) => s.slot === '701' && s.occupied);
      },
      { timeout: 15_000, interval: 250, timeoutMsg: `orbit slots never showed 701 occupied: ${JSON.stringify(await slotInfo())}` },
    );
    const slots = await slotInfo();
    const s701 = slots.find((s) => s.slot === '701');
    const s702 = slots.find((s) => s.slot === '702');
    assert.match(s701.who, /Carol Parked/, `slot 701 shows ${JSON.stringify(s701)}`);
    assert.equal(s701.retrieve, true, 'Retrieve is not offered for the occupied slot');
    assert.equal(s702.occupied, false, `slot 702 should be free: ${JSON.stringify(s702)}`);
    assert.equal(s702.retrieve, false, 'Retrieve is offered for a free slot');
    assert.ok(notifier.subscribes.length >= 2, `the app sent ${notifier.subscribes.length} SUBSCRIBEs, expected one per slot`);
    assert.ok(notifier.subscribes.every((m) => /^Event:\s*dialog/im.test(m)), 'a SUBSCRIBE without Event: dialog');
    step(`orbit slots: ${JSON.stringify(slots)}`);

    // In a call, the call card offers the account's orbits next to Park.
    await dialInput.setValue(peer.uri);
    await dialInput.addValue('\uE007');
    const callState = await byTestId('call-state');
    await browser.waitUntil(async () => (await callState.isExisting()) && (await callState.getText()).includes('Connected'), {
      timeout: 20_000,
      interval: 250,
      timeoutMsg: 'the call never reached Connected',
    });
    const options = await browser.execute(() =>
      [...document.querySelectorAll('[data-testid="park-orbit-select"] option')].map((o) => o.value),
    );
    assert.deepEqual(options, ['', '701', '702'], `park-on-orbit choices: ${JSON.stringify(options)}`);
    // With the extra choice the call card's controls still all fit inside the card (they wrap):
    // a Hang up button pushed out of sight is a phone you cannot hang up.
    const clipped = await browser.execute(() => {
      const card = document.querySelector('[data-testid="call-card"]').getBoundingClientRect();
      return [...document.querySelectorAll('[data-testid="call-card"] .actions > *')]
        .filter((el) => {
          const r = el.getBoundingClientRect();
          return r.right > card.right + 0.5 || r.left < card.left - 0.5;
        })
        .map((el) => el.textContent.trim().slice(0, 20));
    });
    assert.deepEqual(clipped, [], `call-card controls outside the card: ${JSON.stringify(clipped)}`);
    const png = path.join(artifacts, 'app-orbits.png');
    if ((await screenshot(png)) || xScreenshot(png)) step(`screenshot: ${png}`);
    const closedBefore = peer.events.filter((e) => e.type === 'CALL_CLOSED').length;
    await (await byTestId('hangup-button')).click();
    await waitFor('baresip to see the call closed', () => peer.events.filter((e) => e.type === 'CALL_CLOSED').length > closedBefore, 10_000);
    await closeApp();
  } finally {
    await notifier.close();
  }
});

/**
 * A direct-call phone (no registrar) listening on its own port, launched and up: returns the
 * address peers dial.
 */
async function openPhone(name, env = {}) {
  const appPort = await freeSipPort();
  const profile = writeProfile(name, [`listen = "127.0.0.1:${appPort}"`]);
  await launchApp(name, profile, env);
  await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: `${name}: the app window never came up` });
  return `sip:alice@127.0.0.1:${appPort}`;
}

/** Text of the live region (`live-polite` or `live-assertive`). */
async function liveText(which) {
  return browser.execute((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '', which);
}

/** axe-core in the window now: prints what it finds, fails on serious or critical violations. */
async function assertAccessible(label) {
  const failing = await checkAccessibility(browser, label, step);
  assert.equal(failing.length, 0, `axe found serious/critical violations (${label}):\n${describeViolations(failing)}`);
}

test('accessibility: axe-core finds no serious or critical violations idle, with a call ringing, with a call connected and in the settings', { timeout: 180_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  const appUri = await openPhone('axe');
  await assertAccessible('idle');

  const mark = bob.events.length;
  bob.command('dial', appUri);
  await (await byTestId('incoming-card')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for bob' });
  await browser.waitUntil(async () => /Incoming call from bob@/.test(await liveText('live-assertive')), {
    timeout: 5_000,
    timeoutMsg: 'the incoming call was not announced in the assertive live region',
  });
  await assertAccessible('incoming call ringing');

  await press(browser, '[data-testid="answer-button"]', Key.Enter);
  await browser.waitUntil(async () => (await callCards()).some((t) => t.includes('bob@') && t.includes('Connected')), {
    timeout: 10_000,
    timeoutMsg: 'Enter on Answer did not connect bob',
  });
  await browser.waitUntil(async () => /Connected to bob@/.test(await liveText('live-polite')), {
    timeout: 5_000,
    timeoutMsg: 'the connected call was not announced in the polite live region',
  });
  await assertAccessible('call connected');

  await press(browser, '[data-testid="hangup-button"]', Key.Enter);
  await waitFor('bob to see the call closed', () => bob.eventsSince(mark, 'CALL_CLOSED').length > 0, 10_000);
  await browser.waitUntil(async () => /ended/i.test(await liveText('live-polite')), {
    timeout: 5_000,
    timeoutMsg: 'the end of the call was not announced',
  });
  // The settings, opened from the keyboard too.
  await press(browser, 'button[data-testid="account-settings-button"]', Key.Enter);
  await (await byTestId('settings-form')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'Enter on "Account settings" did not open the settings' });
  await assertAccessible('settings');
  step('axe: idle, ringing, connected and settings views pass; ringing, connected and ended announced');
  await closeApp();
});

test('dark theme: with the system preferring dark the window is dark, and axe passes idle, with a call connected and in the settings', { timeout: 180_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  // GTK's dark variant is what a dark desktop gives the app; WebKitGTK reports it to the page.
  const appUri = await openPhone('dark', { GTK_THEME: 'Adwaita:dark' });
  const look = await browser.execute(() => ({
    dark: matchMedia('(prefers-color-scheme: dark)').matches,
    background: getComputedStyle(document.documentElement).backgroundColor,
    text: getComputedStyle(document.body).color,
  }));
  assert.ok(look.dark, 'the window does not see the system prefer dark');
  assert.equal(look.background, 'rgb(13, 17, 23)', `the window is not dark: ${JSON.stringify(look)}`);
  await screenshot(path.join(artifacts, 'app-dark.png'));
  await assertAccessible('dark, idle');

  const mark = bob.events.length;
  bob.command('dial', appUri);
  await (await byTestId('incoming-card')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for bob' });
  await assertAccessible('dark, incoming call ringing');
  await (await byTestId('answer-button')).click();
  await browser.waitUntil(async () => (await callCards()).some((t) => t.includes('bob@') && t.includes('Connected')), {
    timeout: 10_000,
    timeoutMsg: 'the call with bob did not connect',
  });
  await screenshot(path.join(artifacts, 'app-dark-call.png'));
  await assertAccessible('dark, call connected');
  await (await byTestId('hangup-button')).click();
  await waitFor('bob to see the call closed', () => bob.eventsSince(mark, 'CALL_CLOSED').length > 0, 10_000);
  await (await byTestId('account-settings-button')).click();
  await (await byTestId('settings-form')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the settings did not open' });
  await assertAccessible('dark, settings');
  step('dark theme: the window follows the system; axe passes idle, ringing, connected and in the settings');
  await closeApp();
});

test('keyboard only: answer, park, a second call, switch, hang up the parked one and transfer, with Tab, Enter and Space', { timeout: 240_000 }, async () => {
  await setUp();
  const bob = await ensurePeer();
  const carol = await startExtraPeer('carol', 'baresip-carol-keyboard');
  try {
    const appUri = await openPhone('keyboard');
    const until = (what, fn, timeout = 10_000) => browser.waitUntil(fn, { timeout, interval: 250, timeoutMsg: what });
    const connectedTo = (who) => async () => (await callCards()).some((t) => t.includes(who) && t.includes('Connected'));
    const parkedHas = (who) => async () => (await parkedRows()).some((r) => r.text.includes(who));

    // 1. bob calls: Tab to Answer, Enter.
    const bobMark = bob.events.length;
    bob.command('dial', appUri);
    await (await byTestId('incoming-card')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for bob' });
    let tabs = await press(browser, '[data-testid="answer-button"]', Key.Enter);
    await until('Enter on Answer did not connect bob', connectedTo('bob@'));
    step(`keyboard: answered bob (${tabs} Tab)`);

    // 2. Park him: Tab to Park, Space.
    tabs = await press(browser, '[data-testid="park-button"]', Key.Space);
    await until('Space on Park did not park bob', parkedHas('bob@'));
    await until('parking was not announced', async () => /bob@\S+ is parked/.test(await liveText('live-polite')), 5_000);
    step(`keyboard: parked bob (${tabs} Tab)`);

    // 3. carol calls: answered the same way (bob stays parked).
    const carolMark = carol.events.length;
    carol.command('dial', appUri);
    await (await byTestId('incoming-card')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no incoming card for carol' });
    await press(browser, '[data-testid="answer-button"]', Key.Enter);
    await until('Enter on Answer did not connect carol', connectedTo('carol@'));
    assert.ok(await parkedHas('bob@')(), 'bob left the parked list when carol was answered');

    // 4. Switch to bob: Tab to the Switch button of his parked row, Enter; carol is parked.
    tabs = await press(browser, '[data-testid="switch-button"]', Key.Enter, { text: 'bob@' });
    await until('Switch did not make bob active', connectedTo('bob@'));
    await until('carol is not parked after switching to bob', parkedHas('carol@'));
    step(`keyboard: switched to bob, carol parked (${tabs} Tab)`);

    // 5. Hang up carol from her parked row (Enter on its hang-up button, not a switch).
    await press(browser, '[data-testid="parked-call"] button[aria-label="Hang up parked call"]', Key.Enter, { text: 'carol@' });
    await waitFor('carol to see her call closed', () => carol.eventsSince(carolMark, 'CALL_CLOSED').length > 0, 10_000);
    assert.ok(await connectedTo('bob@')(), 'bob is not the connected call after hanging up carol');
    step('keyboard: hung up parked carol; bob still connected');

    // 6. Transfer bob to carol: Transfer (Enter), Tab to the address, type it, Enter = "Transfer now".
    await press(browser, '[data-testid="transfer-button"]', Key.Enter);
    await tabTo(browser, '[data-testid="transfer-target"]');
    await typeText(browser, carol.uri);
    await browser.keys([Key.Enter]);
    await waitFor(
      'carol to be connected with bob',
      () => carol.eventsSince(carolMark, 'CALL_ESTABLISHED').some((e) => String(e.peeruri ?? e.param).includes('bob@')),
      15_000,
    );
    await until('our call with bob did not end "transferred to"', async () => (await callCards()).some((t) => t.includes('transferred to')), 15_000);
    await waitFor("bob's call with us to close", () => bob.eventsSince(bobMark, 'CALL_CLOSED').length > 0, 10_000);
    await screenshot(path.join(artifacts, 'app-keyboard-transferred.png'));
    step('keyboard: bob transferred to carol');
    await closeApp();
  } finally {
    await carol.close();
  }
});

test('call routing settings: a malformed rule is refused next to it; a good one is saved', { timeout: 180_000 }, async () => {
  await setUp();
  const profile = writeProfile('routing', ['listen = "127.0.0.1:0"']);
  await launchApp('routing', profile);
  await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
  await (await byTestId('routing-button')).click();
  const form = await byTestId('routing-form');
  await form.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the routing settings did not open' });

  await (await byTestId('add-rule')).click();
  await (await byTestId('add-rule')).click();
  const inputs = await browser.$$('[data-testid="rule-input"]');
  await inputs[0].setValue('when is_queue && active_calls > 0 then reject_busy');
  await inputs[1].setValue('when parkd_count > 0 then ring');
  await (await byTestId('save-routing')).click();
  const problem = await byTestId('rule-problem');
  await problem.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no problem shown next to the malformed rule' });
  const text = await problem.getText();
  assert.match(text, /parkd_count/);
  assert.match(text, /parked_count/);
  const inRow2 = await browser.execute(() => {
    const rows = document.querySelectorAll('[data-testid="rule-row"]');
    return !!rows[1]?.querySelector('[data-testid="rule-problem"]') && !rows[0]?.querySelector('[data-testid="rule-problem"]');
  });
  assert.ok(inRow2, 'the problem is not shown next to rule 2');
  assert.doesNotMatch(readFileSync(profile, 'utf8'), /parkd_count/, 'a malformed rule reached the profile');
  await browser.execute((el) => el.scrollIntoView({ block: 'center' }), problem);
  await screenshot(path.join(artifacts, 'app-routing-error.png'));

  await inputs[1].setValue('when parked_count > 2 then reject_busy');
  await (await byTestId('save-routing')).click();
  await browser.waitUntil(async () => readFileSync(profile, 'utf8').includes('parked_count > 2'), {
    timeout: 10_000,
    timeoutMsg: 'the corrected rules were not saved to the profile',
  });
  assert.equal(await (await byTestId('rule-problem')).isExisting(), false, 'a problem is still shown after saving');
  await screenshot(path.join(artifacts, 'app-routing-saved.png'));
  step('routing: malformed rule refused next to it, corrected rules saved');
  await closeApp();
});

test('signs in at Kamailio with digest from the window; a wrong password is named; closing un-REGISTERs', { timeout: 240_000 }, async () => {
  await setUp();
  for (const tool of ['openbox', 'wmctrl']) {
    assert.ok(
      (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, tool))),
      `${tool} is needed to close the window like a user does: apt-get install openbox wmctrl`,
    );
  }
  // The real registrar of the interop tests: Kamailio with MD5 digest and one subscriber.
  const kamailio = await startKamailio({ users: ['alice:alice-secret'], peerBin, workDir: work, logDir: path.join(work, 'logs') });
  const savedLines = () => readFileSync(kamailio.log, 'utf8').split('\n').filter((l) => l.includes('HF-SAVED user=alice '));
  const profile = path.join(work, 'sign-in', 'profile.toml');
  // No HOOKFLASH_PASSWORD: the password typed in the window is the one used. The app's
  // log is at debug (and checked for secrets below).
  await launchApp('sign-in', profile, {
    HOOKFLASH_PASSWORD: undefined,
    RUST_LOG: 'debug',
  });
  // A window manager turns "close" into the WM_DELETE_WINDOW a desktop sends.
  ensureWindowManager();

  const fillAccount = async (password) => {
    const form = await byTestId('settings-form');
    await form.waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the account form did not appear' });
    await (await browser.$('#f-aor')).setValue('sip:alice@127.0.0.1');
    await (await browser.$('#f-registrar')).setValue(`sip:127.0.0.1:${kamailio.port}`);
    await (await browser.$('#f-pass')).setValue(password);
    const register = await browser.$('input[name="register"]');
    if (!(await register.isSelected())) await register.click();
    await (await form.$('button[type="submit"]')).click();
  };
  const status = await byTestId('account-status');

  // 1. A wrong password: Kamailio refuses, and the status bar says so with the status and server.
  await fillAccount('not-the-password');
  await browser.waitUntil(async () => /refused \(401\)/.test(await status.getText()), {
    timeout: 30_000,
    timeoutMsg: 'the status bar never said the registration was refused (401)',
  });
  const refused = await status.getAttribute('title');
  assert.match(refused, /registration refused \(401\) by 127\.0\.0\.1/, refused);
  assert.equal(savedLines().length, 0, 'Kamailio saved a registration for a wrong password');
  await screenshot(path.join(artifacts, 'app-sign-in-refused.png'));
  step(`wrong password: "${refused}"`);

  // 2. The right password, typed in the same form: registered, and Kamailio has the binding.
  await (await byTestId('account-settings-button')).click();
  await fillAccount('alice-secret');
  await browser.waitUntil(async () => (await status.getText()).includes('Registered'), {
    timeout: 30_000,
    timeoutMsg: 'the status bar never showed Registered',
  });
  await waitFor('Kamailio to save alice\'s registration', () => savedLines().some((l) => /expires_hdr=600 /.test(l)), 10_000);
  await screenshot(path.join(artifacts, 'app-registered.png'));
  step('signed in: registered at Kamailio with digest');

  // 2b. A call (an INVITE with its SDP) to the baresip peer, hung up; then the app's log at debug
  // holds none of the secrets: passwords, digest answers and nonces, Authorization values, SDP.
  const bob = await ensurePeer();
  const dialInput = await byTestId('dial-input');
  await dialInput.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no dial input after signing in' });
  await dialInput.setValue(bob.uri);
  await dialInput.addValue('\uE007');
  const callState = await byTestId('call-state');
  await browser.waitUntil(async () => (await callState.isExisting()) && (await callState.getText()).includes('Connected'), {
    timeout: 15_000,
    timeoutMsg: 'the call to the peer did not connect after signing in',
  });
  await (await byTestId('hangup-button')).click();
  await browser.waitUntil(async () => !(await callState.isExisting()), { timeout: 10_000, timeoutMsg: 'the call did not end' });
  const appLog = readFileSync(path.join(work, 'logs', 'sign-in-tauri-driver-and-app.log'), 'utf8');
  assert.match(appLog, /DEBUG/, 'the app did not log at debug');
  const leaked = ['alice-secret', 'not-the-password', 'Authorization:', 'response=', 'nonce=', 'a=crypto', 'm=audio', 'v=0'].filter((s) => appLog.includes(s));
  assert.deepEqual(leaked, [], `the app's debug log holds ${leaked.join(', ')}`);
  step('a call after signing in; the debug log holds no password, digest, nonce or SDP');

  // 3. Closing the window un-REGISTERs (Kamailio saves expires 0) and quits.
  const appPid = () => {
    try {
      return execFileSync('pgrep', ['-f', `^${appBin}`]).toString().trim().split('\n')[0];
    } catch {
      return null;
    }
  };
  assert.ok(appPid(), 'cannot find the app process');
  execFileSync('wmctrl', ['-c', 'Hookflash'], { env: { ...process.env, DISPLAY: display } });
  await waitFor('an un-REGISTER (expires 0) at Kamailio after closing the window', () => savedLines().some((l) => /expires_hdr=0 /.test(l)), 10_000);
  await waitFor('the app to quit after closing its window', () => appPid() === null, 10_000);
  step('window closed: un-REGISTER saved by Kamailio, app quit');
  await closeApp();
});

test('ringing window: with the main window minimised a call rings in a small window that takes no focus; Answer, a caller giving up and Decline close it', { timeout: 240_000 }, async () => {
  await setUp();
  ensureWindowManager();
  await ensurePeer();
  const appPort = await freeSipPort();
  const profile = writeProfile('ringing', [`listen = "127.0.0.1:${appPort}"`]);
  // No tray here (no StatusNotifier host on the test's bus): --minimized starts minimised.
  await launchApp('ringing', profile, {}, ['--minimized']);
  const main = await browser.getWindowHandle();
  await (await byTestId('dial-input')).waitForExist({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
  await waitFor('the main window to be mapped', () => xWindows().some((w) => w.title === 'Hookflash'), 20_000);
  const mainX = xWindows().find((w) => w.title === 'Hookflash').id;
  const appUri = `sip:alice@127.0.0.1:${appPort}`;
  const others = async () => (await browser.getWindowHandles()).filter((h) => h !== main);

  /** baresip calls; the ringing window appears (WebDriver and X both see it); switches to it. */
  const ringingWindowFor = async (what) => {
    const focusedBefore = hasXprop ? activeXWindow() : null;
    peer.command('dial', appUri);
    await browser.waitUntil(async () => (await others()).length === 1, {
      timeout: 10_000,
      timeoutMsg: `no ringing window for ${what} (windows: ${JSON.stringify(xWindows())})`,
    });
    const [handle] = await others();
    await browser.switchToWindow(handle);
    await (await byTestId('ringing-name')).waitForExist({ timeout: 10_000, timeoutMsg: 'the ringing window shows no caller' });
    const x = xWindows().find((w) => w.title.startsWith('Incoming call:'));
    assert.ok(x, `no "Incoming call:" X window: ${JSON.stringify(xWindows())}`);
    // It never takes the keyboard: the focus stays where it was (openbox moves none to it).
    if (hasXprop) {
      assert.notEqual(activeXWindow(), x.id, 'the ringing window took the keyboard focus');
      assert.equal(activeXWindow(), focusedBefore, 'the focus moved when the ringing window appeared');
    } else {
      step('xprop (x11-utils) missing: the keyboard focus is not checked');
    }
    return { handle, x };
  };
  const ringingGone = async (what) => {
    await browser.waitUntil(async () => (await others()).length === 0, { timeout: 10_000, timeoutMsg: `the ringing window stayed after ${what}` });
    assert.ok(!xWindows().some((w) => w.title.startsWith('Incoming call:')), `an "Incoming call:" X window stayed after ${what}`);
  };

  // 1. Answered in the ringing window: the call connects, the window goes.
  let mark = peer.events.length;
  const { x } = await ringingWindowFor('the first call');
  // Read in the page: WebKitWebDriver's element-text heuristics drop ellipsised text.
  const shown = await browser.execute(() => ({
    name: document.querySelector('[data-testid="ringing-name"]')?.textContent?.trim(),
    reason: document.querySelector('[data-testid="ringing-reason"]')?.textContent?.trim(),
  }));
  assert.match(shown.name, /bob@127\.0\.0\.1/, JSON.stringify(shown));
  assert.equal(shown.reason, 'Direct call', JSON.stringify(shown));
  assert.equal(await (await byTestId('ringing-voicemail')).isExisting(), false, 'a Voicemail button without a voicemail target');
  assert.ok(x.id !== mainX);
  // The same accessibility bar as the main window (lib/axe.mjs).
  await assertAccessible('ringing window');
  await sleep(1500); // WebKit paints an unfocused window late
  await screenshot(path.join(artifacts, 'app-ringing-window.png'));
  xScreenshot(path.join(artifacts, 'screen-ringing-window.png'));
  step('ringing window up, focus unchanged; screenshot screen-ringing-window.png');
  await (await byTestId('ringing-answer')).click();
  await waitFor('baresip to see the call established', () => peer.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 10_000);
  await browser.switchToWindow(main);
  await ringingGone('Answer');
  const callState = await byTestId('call-state');
  await browser.waitUntil(async () => (await callState.isExisting()) && (await callState.getText()).includes('Connected'), {
    timeout: 10_000,
    timeoutMsg: 'the call answered in the ringing window is not Connected in the main window',
  });
  step('answered from the ringing window');
  peer.command('hangup');
  await browser.waitUntil(async () => !(await callState.isExisting()), { timeout: 15_000, timeoutMsg: 'the ended call card stayed' });

  // 2. The caller gives up while it rings: the window goes by itself.
  mark = peer.events.length;
  await ringingWindowFor('the second call');
  await browser.switchToWindow(main);
  peer.command('hangup');
  await ringingGone('the caller hung up');
  step('caller gave up: ringing window closed');

  // 3. Declined in the ringing window: baresip hears 603, the window goes.
  mark = peer.events.length;
  await ringingWindowFor('the third call');
  await (await byTestId('ringing-decline')).click();
  const closed = await waitFor('baresip to see the call closed', () => peer.eventsSince(mark, 'CALL_CLOSED')[0], 10_000);
  assert.match(String(closed.param), /603/, `baresip saw the call closed with: ${closed.param}`);
  await browser.switchToWindow(main);
  await ringingGone('Decline');
  step(`declined from the ringing window; baresip saw "${closed.param}"`);
  await closeApp();
});

test('navigation: the rail and Ctrl+1…4 open calls, history (found by name), routing and settings; a call ringing elsewhere shows there; a narrow window keeps the call in one column; the last view opens again', { timeout: 240_000 }, async () => {
  await setUp();
  ensureWindowManager();
  await ensurePeer();
  const appPort = await freeSipPort();
  const profile = writeProfile('navigation', [`listen = "127.0.0.1:${appPort}"`]);
  const data = { XDG_DATA_HOME: path.join(work, 'data', 'navigation-kept') };
  await launchApp('navigation', profile, data);
  await (await byTestId('dial-input')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
  await waitFor('the main window to be mapped', () => xWindows().some((w) => w.title === 'Hookflash'), 20_000);
  const mainX = xWindows().find((w) => w.title === 'Hookflash').id;
  const sectionShown = () => browser.execute(() => document.querySelector('[data-testid="view"]')?.getAttribute('data-section'));
  const current = () => browser.execute(() => document.querySelector('[data-testid="nav"] [aria-current="page"]')?.getAttribute('data-testid'));
  const openWithKeys = async (digit, section) => {
    await browser.keys([Key.Ctrl, digit]);
    await browser.keys([Key.Ctrl]); // let go of Ctrl
    await browser.waitUntil(async () => (await sectionShown()) === section, { timeout: 10_000, timeoutMsg: `Ctrl+${digit} did not open ${section} (shows ${await sectionShown()})` });
  };
  assert.equal(await sectionShown(), 'calls');
  assert.equal(await current(), 'nav-calls');

  // 1. In the history view a call rings: it shows there; answered, the way back to it is offered.
  await openWithKeys('2', 'history');
  assert.equal(await current(), 'nav-history');
  const appUri = `sip:alice@127.0.0.1:${appPort}`;
  let mark = peer.events.length;
  peer.command('dial', appUri);
  const answer = await byTestId('answer-button');
  await answer.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the ringing call is not shown in the history view' });
  assert.equal(await sectionShown(), 'history', 'a ringing call took the user out of the history view');
  await answer.click();
  await waitFor('baresip to see the call established', () => peer.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 10_000);
  const back = await byTestId('back-to-call');
  await back.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no way back to the call from the history view' });
  assert.match(await browser.execute(() => document.querySelector('[data-testid="back-to-call"]').innerText), /On a call with bob/);
  assert.match(await (await byTestId('nav-calls-count')).getText(), /^1/);
  await (await back.$('button')).click();
  await browser.waitUntil(async () => (await sectionShown()) === 'calls', { timeout: 10_000, timeoutMsg: '"Back to calls" did not open the calls' });
  const callState = await byTestId('call-state');
  await browser.waitUntil(async () => (await callState.getText()).includes('Connected'), { timeout: 10_000, timeoutMsg: 'the call is not Connected in the calls view' });
  step('navigation: a call rang and was answered in the history view; "Back to calls" led to it');

  // 2. A narrow window: the rail turns into tabs across the top, the call and the dial pad fill
  //    one column, recent calls go (they are in the history view).
  xdotool('windowsize', '--sync', String(mainX), '460', '640');
  await browser.waitUntil(async () => (await browser.execute(() => window.innerWidth)) <= 700, { timeout: 10_000, timeoutMsg: 'the window did not get narrow' });
  const layout = await browser.execute(() => {
    const rail = document.querySelector('[data-testid="nav"]').getBoundingClientRect();
    const card = document.querySelector('[data-testid="call-card"]').getBoundingClientRect();
    const history = document.querySelector('[data-testid="history-list"]');
    return { railWide: rail.width > rail.height, cardBelowRail: card.top >= rail.bottom, cardWidth: card.width, width: window.innerWidth, historyShown: !!history && history.getClientRects().length > 0 };
  });
  assert.ok(layout.railWide && layout.cardBelowRail, `the rail is not a row of tabs above the call: ${JSON.stringify(layout)}`);
  assert.ok(layout.cardWidth > layout.width * 0.8, `the call card does not fill the narrow window: ${JSON.stringify(layout)}`);
  assert.equal(layout.historyShown, false, 'recent calls still take room in the narrow window');
  await screenshot(path.join(artifacts, 'app-compact.png'));
  xdotool('windowsize', '--sync', String(mainX), '920', '640');
  mark = peer.events.length;
  await (await byTestId('hangup-button')).click();
  await waitFor('baresip to see the call closed', () => peer.eventsSince(mark, 'CALL_CLOSED').length > 0, 10_000);
  step('navigation: the narrow window shows tabs and the call in one column (screenshot app-compact.png)');

  // 3. The history view finds the call by name; routing and settings by their keys; the rail by mouse.
  await openWithKeys('2', 'history');
  const filter = await byTestId('history-filter');
  await browser.waitUntil(async () => (await historyRows()).length === 1, { timeout: 10_000, timeoutMsg: 'the answered call is not in the history view' });
  await filter.setValue('BOB');
  await browser.waitUntil(async () => (await historyRows()).length === 1, { timeout: 5_000, timeoutMsg: 'the filter lost the call with bob' });
  await filter.setValue('carol');
  await browser.waitUntil(async () => (await historyRows()).length === 0, { timeout: 5_000, timeoutMsg: 'the filter still shows a call with bob for "carol"' });
  await openWithKeys('3', 'routing');
  await (await byTestId('routing-form')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'Ctrl+3 did not show the routing rules' });
  await openWithKeys('4', 'settings');
  await (await byTestId('settings-form')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'Ctrl+4 did not show the settings' });
  await (await byTestId('nav-history')).click();
  await browser.waitUntil(async () => (await sectionShown()) === 'history', { timeout: 10_000, timeoutMsg: 'the rail did not open the history' });
  await assertAccessible('history view');
  step('navigation: history filtered, routing and settings by Ctrl+3/4, the rail by mouse; axe passes in the history view');

  // 4. The next start opens the history view again.
  await closeApp();
  await launchApp('navigation-again', profile, data);
  await (await byTestId('history-view')).waitForDisplayed({ timeout: 60_000, timeoutMsg: 'the next start did not open the history view again' });
  assert.equal(await sectionShown(), 'history');
  step('navigation: the next start opened the history view again');
  await closeApp();
});

test('desktop: hotkeys answer, mute, hang up, decline and show the window from another program; keys another program holds are named; start at login; the window keeps its size', { timeout: 240_000 }, async () => {
  await setUp();
  ensureWindowManager();
  for (const tool of ['xdotool', 'xprop']) {
    assert.ok(
      (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, tool))),
      `${tool} is needed to press keys and read the focus as a desktop does: apt-get install xdotool x11-utils`,
    );
  }
  await ensurePeer();
  const xenv = { ...process.env, DISPLAY: display };
  const appPort = await freeSipPort();
  const profile = writeProfile('hotkeys', [`listen = "127.0.0.1:${appPort}"`]);
  // Hang up was set to Ctrl+Alt+J earlier; since then another program took Ctrl+Alt+J.
  const windowToml = path.join(path.dirname(profile), 'window.toml');
  writeFileSync(windowToml, 'close_to_tray = true\n[hotkeys]\nhang_up = "Ctrl+Alt+KeyJ"\n');
  const grabberLog = path.join(work, 'logs', 'key-grabber.log');
  const grabber = start('key-grabber', '/usr/bin/python3', [path.join(here, 'lib', 'key_grabber.py'), 'j', 'ctrl', 'alt'], { env: xenv, logFile: grabberLog });
  await waitFor('the other program to hold Ctrl+Alt+J', () => {
    if (grabber.exited) throw new Error(`key_grabber.py exited (${grabber.exitCode}): ${readFileSync(grabberLog, 'utf8')}`);
    return readFileSync(grabberLog, 'utf8').includes('grabbed');
  }, 10_000);
  // Its own home and config: the autostart entry and the window's size are the test's.
  const home = path.join(work, 'hotkeys-home');
  const config = path.join(work, 'hotkeys-config');
  mkdirSync(home, { recursive: true });
  const env = { HOME: home, XDG_CONFIG_HOME: config };
  await launchApp('hotkeys', profile, env);
  await (await byTestId('dial-input')).waitForExist({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
  await waitFor('the main window to be mapped', () => xWindows().some((w) => w.title === 'Hookflash'), 20_000);
  const mainX = xWindows().find((w) => w.title === 'Hookflash').id;

  // 1. Settings: the hotkey another program holds is named; keys pressed in a field are recorded.
  await (await byTestId('account-settings-button')).click();
  await (await byTestId('hotkeys')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the hotkeys are not in the settings' });
  const problem = await byTestId('hotkey-hang_up-problem');
  await problem.waitForExist({ timeout: 10_000, timeoutMsg: 'the hotkey another program holds is not named' });
  assert.equal((await problem.getText()).trim(), 'Ctrl+Alt+J is taken by another program; press other keys.');
  const shortcutIn = (hotkey) => browser.execute((h) => document.querySelector(`[data-testid="hotkey-${h}"]`)?.getAttribute('data-shortcut'), hotkey);
  const record = async (hotkey, keys, expected) => {
    await (await byTestId(`hotkey-${hotkey}`)).click();
    xdotool('key', '--clearmodifiers', keys);
    await browser.waitUntil(async () => (await shortcutIn(hotkey)) === expected, {
      timeout: 10_000,
      timeoutMsg: `pressing ${keys} in the ${hotkey} field did not record ${expected} (it shows ${await shortcutIn(hotkey)})`,
    });
  };
  await record('hang_up', 'ctrl+alt+h', 'Ctrl+Alt+KeyH');
  assert.equal(await (await byTestId('hotkey-hang_up-problem')).isExisting(), false, 'the problem stayed after other keys were recorded');
  await record('answer', 'ctrl+alt+a', 'Ctrl+Alt+KeyA');
  await record('mute', 'ctrl+alt+m', 'Ctrl+Alt+KeyM');
  await record('show_window', 'ctrl+alt+s', 'Ctrl+Alt+KeyS');
  // A letter alone is refused with the reason; nothing is saved.
  await (await byTestId('hotkey-mute')).click();
  xdotool('key', '--clearmodifiers', 'q');
  const refused = await byTestId('hotkey-mute-problem');
  await refused.waitForExist({ timeout: 10_000, timeoutMsg: 'a plain letter as a hotkey was not refused' });
  assert.match(await refused.getText(), /would take that key from every program/);
  assert.equal(await shortcutIn('mute'), 'Ctrl+Alt+KeyM');
  const saved = readFileSync(windowToml, 'utf8');
  for (const line of ['answer = "Ctrl+Alt+KeyA"', 'hang_up = "Ctrl+Alt+KeyH"', 'mute = "Ctrl+Alt+KeyM"', 'show_window = "Ctrl+Alt+KeyS"']) {
    assert.ok(saved.includes(line), `window.toml lacks ${line}:\n${saved}`);
  }
  await (await byTestId('hotkeys')).scrollIntoView();
  await screenshot(path.join(artifacts, 'app-hotkeys.png'));
  step('hotkeys: the taken one named, four recorded from real key presses, a plain letter refused; screenshot app-hotkeys.png');

  // 2. Start at login: the desktop's autostart entry starts the app in the tray.
  const entry = path.join(home, '.config', 'autostart', 'hookflash.desktop');
  assert.equal(existsSync(entry), false);
  const startAtLogin = await byTestId('start-at-login');
  await startAtLogin.click();
  await waitFor('the autostart entry', () => existsSync(entry), 10_000);
  const desktopFile = readFileSync(entry, 'utf8');
  assert.ok(desktopFile.includes(`Exec=${appBin} --minimized`), desktopFile);
  await startAtLogin.click();
  await waitFor('the autostart entry to go', () => !existsSync(entry), 10_000);
  step('start at login: the XDG autostart entry is written with --minimized and removed again');
  await (await byTestId('nav-calls')).click();
  await (await byTestId('dial-input')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the settings did not close' });

  // 3. From another program (the window minimised): answer, mute, unmute, hang up.
  xdotool('windowminimize', '--sync', String(mainX));
  const appUri = `sip:alice@127.0.0.1:${appPort}`;
  let mark = peer.events.length;
  peer.command('dial', appUri);
  await waitFor('the ringing window', () => xWindows().some((w) => w.title.startsWith('Incoming call:')), 10_000);
  xdotool('key', '--clearmodifiers', 'ctrl+alt+a');
  await waitFor('baresip to see the call answered by the hotkey', () => peer.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 10_000);
  const muted = () => browser.execute(() => document.querySelector('[data-testid="mute-button"]')?.getAttribute('aria-pressed'));
  await browser.waitUntil(async () => (await muted()) === 'false', { timeout: 10_000, timeoutMsg: 'no connected call card' });
  xdotool('key', '--clearmodifiers', 'ctrl+alt+m');
  await browser.waitUntil(async () => (await muted()) === 'true', { timeout: 10_000, timeoutMsg: 'the mute hotkey did not mute the call' });
  xdotool('key', '--clearmodifiers', 'ctrl+alt+m');
  await browser.waitUntil(async () => (await muted()) === 'false', { timeout: 10_000, timeoutMsg: 'the mute hotkey did not unmute the call' });
  mark = peer.events.length;
  xdotool('key', '--clearmodifiers', 'ctrl+alt+h');
  await waitFor('baresip to see the call hung up by the hotkey', () => peer.eventsSince(mark, 'CALL_CLOSED').length > 0, 10_000);
  // With no call to hang up, the hang-up key declines a ringing one (603).
  await waitFor('the ringing window to go', () => !xWindows().some((w) => w.title.startsWith('Incoming call:')), 10_000);
  mark = peer.events.length;
  peer.command('dial', appUri);
  await waitFor('the ringing window', () => xWindows().some((w) => w.title.startsWith('Incoming call:')), 10_000);
  xdotool('key', '--clearmodifiers', 'ctrl+alt+h');
  const closed = await waitFor('baresip to see the call declined', () => peer.eventsSince(mark, 'CALL_CLOSED')[0], 10_000);
  assert.match(String(closed.param), /603/, `baresip saw the call closed with: ${closed.param}`);
  step('hotkeys: answered, muted, unmuted, hung up and declined with the window minimised');

  // 4. The window's key brings it forward with the focus, and puts it away again.
  xdotool('key', '--clearmodifiers', 'ctrl+alt+s');
  await waitFor('the window to come forward with the focus', () => activeXWindow() === mainX, 10_000);
  // Pressed again at once (the app may not have heard of its focus yet): put away all the same.
  xdotool('key', '--clearmodifiers', 'ctrl+alt+s');
  await waitFor('the window to be put away', () => activeXWindow() !== mainX, 10_000);
  step('hotkeys: the show/hide key brings the window forward and minimises it');

  // 5. The window keeps its size across starts.
  xdotool('key', '--clearmodifiers', 'ctrl+alt+s');
  await waitFor('the window to come forward', () => activeXWindow() === mainX, 10_000);
  // Not the size it opens at (920x640, tauri.conf.json).
  xdotool('windowsize', '--sync', String(mainX), '760', '560');
  await sleep(500);
  execFileSync('wmctrl', ['-i', '-c', `0x${mainX.toString(16)}`], { env: xenv }); // no tray here: closing quits
  await waitFor('the app to quit', () => !xWindows().some((w) => w.title === 'Hookflash'), 15_000);
  await closeApp();
  await launchApp('hotkeys-again', profile, env);
  await (await byTestId('dial-input')).waitForExist({ timeout: 60_000, timeoutMsg: 'the app window never came up again' });
  await waitFor('the main window to be mapped', () => xWindows().some((w) => w.title === 'Hookflash'), 20_000);
  const again = xWindows().find((w) => w.title === 'Hookflash').id;
  const geometry = xdotool('getwindowgeometry', String(again));
  assert.match(geometry, /Geometry: 760x560/, `the window did not keep its size: ${geometry}`);
  step(`the window came back at its size: ${geometry.replace(/\n/g, ' ')}`);
  await closeApp();
  await stop(grabber);
});

test('tray: started hidden in a StatusNotifier host; missed calls, calling back, hanging up, do not disturb, presence, its language, show, close to tray and quit from its menu; notifications answer and decline', { timeout: 240_000 }, async (t) => {
  const missing = trayHostMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  await setUp();
  ensureWindowManager();
  await ensurePeer();
  const host = await startTrayHost({ logDir: path.join(work, 'logs') });
  try {
    const appPort = await freeSipPort();
    const profile = writeProfile('tray', [`listen = "127.0.0.1:${appPort}"`]);
    await launchApp('tray', profile, { DBUS_SESSION_BUS_ADDRESS: host.address }, ['--minimized']);
    await (await byTestId('dial-input')).waitForExist({ timeout: 60_000, timeoutMsg: 'the app window never came up' });
    await waitFor('the tray icon to register with the host', () => host.registered(), 20_000);
    const menu = async () => menuLabels((await host.dump()).menu);
    const mapped = () => xWindows().some((w) => w.title === 'Hookflash');
    const waitMenu = (what, check) => waitFor(what, async () => check(await host.dump()), 10_000);

    // 1. Started in the tray: no window on screen; the menu says what the phone is.
    await waitMenu('the tray menu', (d) => menuLabels(d.menu)[0] === 'Direct calls only');
    assert.equal(mapped(), false, 'the window is on screen although --minimized started it in the tray');
    assert.deepEqual(await menu(), [
      'Direct calls only',
      'Show window',
      'Hang up',
      '[ ] Do not disturb',
      ['Presence', ['[x] Available', '[ ] Away', '[ ] Busy']],
      ['Recent calls', ['No calls yet']],
      'Quit Hookflash',
    ]);
    step('started hidden in the tray');

    // 2. A call the caller gives up: the label counts it, the menu lists it.
    const appUri = `sip:alice@127.0.0.1:${appPort}`;
    let mark = peer.events.length;
    peer.command('dial', appUri);
    await waitMenu('the tray to say a call rings', (d) => /bob@127\.0\.0\.1:\d+ calling/.test(menuLabels(d.menu)[0]));
    // The desktop notification (the host is the session's notification daemon) offers Answer and
    // Decline, and is withdrawn once the caller gives up.
    const ringingNotice = await waitFor('a notification for the ringing call', async () => (await host.notices()).find((n) => n.open && n.summary === 'Incoming call from bob'), 10_000);
    assert.deepEqual(ringingNotice.actions, ['answer', 'Answer', 'decline', 'Decline']);
    peer.command('hangup');
    await waitFor('the notification to be withdrawn when the caller gave up', async () => (await host.notices()).some((n) => n.id === ringingNotice.id && !n.open), 10_000);
    const missed = await waitMenu('the missed call in the tray', (d) => d.label === '1' && d);
    const labels = menuLabels(missed.menu);
    assert.equal(labels[0], 'Direct calls only · 1 missed call');
    assert.match(labels[5][1][0], /^↙ bob@127\.0\.0\.1:\d+ \(missed\)$/);
    step(`missed call: label "${missed.label}", recent "${labels[5][1][0]}"`);

    // 3. Its recent-call item calls back: the window comes up with the call connected.
    mark = peer.events.length;
    await host.click(labels[5][1][0]);
    await waitFor('baresip to answer the call back', () => peer.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 15_000);
    await waitFor('the window to come up for the call', mapped, 10_000);
    const callState = await byTestId('call-state');
    await browser.waitUntil(async () => (await callState.isExisting()) && (await callState.getText()).includes('Connected'), {
      timeout: 10_000,
      timeoutMsg: 'the call back from the tray is not Connected in the window',
    });
    // Looking at the window: the missed call is no longer news; the menu hides the window now.
    await waitMenu('the missed-call label to go once the window was shown', (d) => d.label === '' && menuLabels(d.menu)[1] === 'Hide window');
    await screenshot(path.join(artifacts, 'app-tray-call-back.png'));
    step('called back from the tray; window shown, missed count cleared');
    // The menu's "Hang up" names the call and ends it.
    const hangUp = await waitMenu('"Hang up" to name the call', (d) => /^Hang up bob@127\.0\.0\.1:\d+$/.test(menuLabels(d.menu)[2]) && menuLabels(d.menu)[2]);
    mark = peer.events.length;
    await host.click(hangUp);
    await waitFor('baresip to see the call hung up from the tray', () => peer.eventsSince(mark, 'CALL_CLOSED').length > 0, 10_000);
    await browser.waitUntil(async () => !(await callState.isExisting()), { timeout: 15_000, timeoutMsg: 'the ended call card stayed' });
    await waitMenu('"Hang up" to go back to disabled', (d) => menuLabels(d.menu)[2] === 'Hang up');
    step(`"${hangUp}" from the tray ended the call`);

    // 4. Do not disturb from the tray: checked there, and the window says so; and off again.
    await host.click('Do not disturb');
    await waitMenu('Do not disturb checked', (d) => menuLabels(d.menu)[3] === '[x] Do not disturb');
    await browser.waitUntil(async () => (await browser.execute(() => document.body.innerText)).includes('Do not disturb: on'), {
      timeout: 10_000,
      timeoutMsg: 'the window does not show Do not disturb on after the tray switched it on',
    });
    assert.match(menuLabels((await host.dump()).menu)[0], /Do not disturb/);
    await host.click('Do not disturb');
    await waitMenu('Do not disturb unchecked', (d) => menuLabels(d.menu)[3] === '[ ] Do not disturb');
    step('do not disturb on and off from the tray');
    // Presence from the tray: one checked at a time, and the window's picker follows.
    await host.click('Away');
    await waitMenu('Away checked', (d) => JSON.stringify(menuLabels(d.menu)[4]) === JSON.stringify(['Presence', ['[ ] Available', '[x] Away', '[ ] Busy']]));
    await browser.waitUntil(async () => (await (await byTestId('presence')).getValue()) === 'away', {
      timeout: 10_000,
      timeoutMsg: 'the window\'s presence did not follow the tray to Away',
    });
    await host.click('Available');
    await waitMenu('Available checked again', (d) => menuLabels(d.menu)[4][1][0] === '[x] Available');
    step('presence Away and back to Available from the tray; the window followed');
    // The menu speaks the window's language: German picked in the settings, then the system's
    // (English here) again.
    await (await byTestId('account-settings-button')).click();
    const language = await byTestId('language-select');
    await language.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'no language picker in the settings' });
    await language.selectByAttribute('value', 'de');
    const german = await waitMenu('the tray menu in German', (d) => menuLabels(d.menu)[1] === 'Fenster ausblenden' && menuLabels(d.menu));
    assert.deepEqual(german.slice(1), [
      'Fenster ausblenden',
      'Auflegen',
      '[ ] Nicht stören',
      ['Anwesenheit', ['[x] Verfügbar', '[ ] Abwesend', '[ ] Beschäftigt']],
      ['Letzte Anrufe', [german[5][1][0]]],
      'Hookflash beenden',
    ]);
    assert.match(german[0], /^Nur direkte Anrufe/, german[0]);
    assert.match(german[5][1][0], /^↗ bob@127\.0\.0\.1:\d+$/, german[5][1][0]);
    await language.selectByAttribute('value', 'system');
    await waitMenu('the tray menu back in English', (d) => menuLabels(d.menu)[1] === 'Hide window' && menuLabels(d.menu)[6] === 'Quit Hookflash');
    await (browser.$('button=Cancel')).click();
    await (await byTestId('dial-input')).waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the phone view did not come back from the settings' });
    step(`the tray menu followed the window to German ("${german[1]}", "${german[6]}") and back`);

    // 5. Closing the window keeps the phone in the tray; Show window brings it back.
    execFileSync('wmctrl', ['-c', 'Hookflash'], { env: { ...process.env, DISPLAY: display } });
    await waitFor('the window to go into the tray', () => !mapped(), 10_000);
    await waitMenu('the menu to offer Show window', (d) => menuLabels(d.menu)[1] === 'Show window');
    assert.equal(await (await byTestId('dial-input')).isExisting(), true, 'the app is gone after closing its window with a tray');
    await host.click('Show window');
    await waitFor('the window to come back from the tray', mapped, 10_000);
    await host.click('Hide window');
    await waitFor('the window to hide from the tray menu', () => !mapped(), 10_000);
    step('closed into the tray, shown and hidden from its menu');

    // 5b. Answered and declined from the notification while the window is in the tray.
    const ringNotice = async (what) => {
      const before = new Set((await host.notices()).map((n) => n.id));
      peer.command('dial', appUri);
      return waitFor(what, async () => (await host.notices()).find((n) => n.open && !before.has(n.id) && n.summary === 'Incoming call from bob'), 10_000);
    };
    mark = peer.events.length;
    let notice = await ringNotice('a notification for the call to answer');
    await host.act(notice.id, 'answer');
    await waitFor('baresip to see the call answered from the notification', () => peer.eventsSince(mark, 'CALL_ESTABLISHED').length > 0, 10_000);
    await waitFor('the window to come up for the call answered from the notification', mapped, 10_000);
    peer.command('hangup');
    await browser.waitUntil(async () => !(await callState.isExisting()), { timeout: 15_000, timeoutMsg: 'the call answered from the notification did not end' });
    await host.click('Hide window');
    await waitFor('the window to hide again', () => !mapped(), 10_000);
    mark = peer.events.length;
    notice = await ringNotice('a notification for the call to decline');
    await host.act(notice.id, 'decline');
    const declined = await waitFor('baresip to see the call declined from the notification', () => peer.eventsSince(mark, 'CALL_CLOSED')[0], 10_000);
    assert.match(String(declined.param), /603/, `baresip saw: ${declined.param}`);
    step(`answered, then declined ("${declined.param}") from the desktop notification`);

    // 6. Quit from the tray ends the app.
    const appPid = () => {
      try {
        return execFileSync('pgrep', ['-f', `^${appBin}`]).toString().trim().split('\n')[0];
      } catch {
        return null;
      }
    };
    assert.ok(appPid(), 'cannot find the app process');
    await host.click('Quit Hookflash');
    await waitFor('the app to quit from the tray', () => appPid() === null, 10_000);
    step('quit from the tray');
  } finally {
    await closeApp();
    await host.close();
  }
});

test('updates: off by default nothing is asked; switched on the signed release is offered; a download that does not match its signature is refused; a good one is checked, then not forced onto a copy not installed from a package', { timeout: 180_000 }, async () => {
  await setUp();
  const tauriCli = path.join(repo, 'ui', 'node_modules', '.bin', 'tauri');
  assert.ok(existsSync(tauriCli), `the Tauri CLI (${tauriCli}) signs the test's packages: npm ci in ui/`);
  const dir = path.join(work, 'update-server');
  const { key, pub } = makeSigningKey(tauriCli, dir);
  const name = 'Hookflash_9.9.9_amd64.deb';
  const pkg = writePackage(dir, name, randomBytes(256 * 1024));
  const signature = sign(tauriCli, key, pkg, '9.9.9');
  const good = readFileSync(pkg);
  const tampered = Buffer.from(good);
  tampered[1000] ^= 0xff;
  const server = await startUpdateServer({ [`/${name}`]: tampered });
  // A copy not installed from a package looks its entry up as linux-<cpu>.
  const cpu = { x64: 'x86_64', arm64: 'aarch64' }[process.arch] ?? process.arch;
  const notes = 'Transfers remember the last target.';
  server.set('/latest.json', manifest('9.9.9', notes, { [`linux-${cpu}`]: { url: server.url(`/${name}`), signature } }));
  try {
    const launched = Date.now();
    await openPhone('updates', { HOOKFLASH_UPDATE_ENDPOINT: server.url('/latest.json'), HOOKFLASH_UPDATE_PUBKEY: pub });
    const windowToml = path.join(work, 'updates', 'window.toml');
    await (await byTestId('account-settings-button')).click();
    const status = await byTestId('update-status');
    await status.waitForDisplayed({ timeout: 10_000, timeoutMsg: 'the settings have no update status' });
    const statusText = async () => (await status.getText()).trim();
    const box = await byTestId('check-for-updates');
    await browser.waitUntil(async () => (await box.isEnabled()) && (await statusText()) !== '', { timeout: 10_000, timeoutMsg: 'the updates switch never loaded' });

    // 1. Off by default: past the moment a check would come when on (5 s after start), the
    // server has heard nothing.
    assert.equal(await box.isSelected(), false, 'checking for updates is on by default');
    assert.equal(await statusText(), 'Not checked automatically.');
    await sleep(Math.max(0, launched + 7_000 - Date.now()));
    assert.equal(server.hits('/latest.json'), 0, 'the app asked the update server although updates are off');

    // 2. Switched on: it asks at once and offers the release, with its notes.
    await box.click();
    await browser.waitUntil(async () => (await statusText()) === 'Hookflash 9.9.9 is available.', {
      timeout: 20_000,
      timeoutMsg: `no release offered after switching updates on (status: ${await statusText()})`,
    });
    assert.equal(server.hits('/latest.json'), 1);
    assert.equal((await (await byTestId('update-notes')).getText()).trim(), notes);
    assert.match(readFileSync(windowToml, 'utf8'), /check_for_updates = true/);
    await (await byTestId('update-settings')).scrollIntoView();
    await screenshot(path.join(artifacts, 'app-update-available.png'));

    // 3. Install: the download does not match its signature; nothing is installed.
    const install = await byTestId('update-install');
    assert.equal((await install.getText()).trim(), 'Install 9.9.9');
    await install.click();
    await browser.waitUntil(async () => (await status.getAttribute('data-state')) === 'failed', {
      timeout: 30_000,
      timeoutMsg: `the tampered download was not refused (status: ${await statusText()})`,
    });
    assert.equal(await statusText(), "the download of Hookflash 9.9.9 does not carry Hookflash's signature: nothing was installed");
    assert.equal(server.hits(`/${name}`), 1);
    await assertAccessible('updates: a failed installation');

    // 4. The server fixed: Check now offers it again, and this time the signature checks out, but
    // a copy built by hand (this one) is not replaced by a package.
    server.set(`/${name}`, good);
    await (await byTestId('update-check')).click();
    await (await byTestId('update-install')).waitForDisplayed({ timeout: 20_000, timeoutMsg: 'Check now did not offer the release again' });
    await (await byTestId('update-install')).click();
    await browser.waitUntil(async () => (await status.getAttribute('data-state')) === 'failed', {
      timeout: 30_000,
      timeoutMsg: `the good download did not end (status: ${await statusText()})`,
    });
    assert.equal(
      await statusText(),
      'Hookflash 9.9.9 was downloaded and its signature checks out, but this copy of Hookflash was not installed from a package (.deb, .rpm, .msi, .app), so it is not replaced: get the new version the way you got this one',
    );
    assert.equal(server.hits(`/${name}`), 2);
    await screenshot(path.join(artifacts, 'app-update-checked.png'));
    step('updates: off asked nothing; on offered 9.9.9; a tampered download refused, a good one checked and not forced on a hand-built copy');
  } finally {
    await closeApp();
    await server.close();
  }
});
