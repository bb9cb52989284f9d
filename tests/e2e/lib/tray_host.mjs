// A private D-Bus session bus with a StatusNotifier host on it (lib/tray_host.py), so the app's
// tray icon is shown and can be read and clicked like a desktop panel does.

import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, waitFor } from './processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Why the host cannot run here (missing python3-dbus / python3-gi / dbus-daemon), or null. */
export function trayHostMissing() {
  try {
    execFileSync(PYTHON, ['-c', 'import dbus, dbus.mainloop.glib; from gi.repository import GLib'], { stdio: 'ignore' });
    execFileSync('dbus-daemon', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'needs python3-dbus, python3-gi and dbus-daemon (apt-get install python3-dbus python3-gi dbus)';
  }
}

/**
 * Starts a session bus and the host on it. `address`: the bus for the app's
 * DBUS_SESSION_BUS_ADDRESS; `registered()`: whether an icon registered; `dump()`, `click(label)`; as the session's
 * notification daemon: `notices()`, `act(id, key)` (press a notification's button).
 */
export async function startTrayHost({ logDir }) {
  const busLog = path.join(logDir, 'tray-bus.log');
  const bus = start('dbus-daemon', 'dbus-daemon', ['--session', '--nofork', '--print-address=1'], {
    logFile: busLog,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let address = '';
  bus.child.stdout.on('data', (chunk) => {
    address += chunk.toString();
  });
  await waitFor('the private session bus', () => address.includes('\n'), 10_000);
  address = address.trim();

  const log = createWriteStream(path.join(logDir, 'tray-host.log'));
  const host = spawn(PYTHON, [path.join(here, 'tray_host.py')], {
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  host.stderr.pipe(log);
  const lines = [];
  const waiting = [];
  let registered = false;
  let buffer = '';
  host.stdout.on('data', (chunk) => {
    buffer += chunk.toString();
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      log.write(`${line}\n`);
      const message = JSON.parse(line);
      if (message.registered) registered = true;
      else if (message.notified) {
        // A notification was shown (unasked); read them with `notices()`.
      } else if (message.ready) lines.push(message);
      else waiting.shift()?.(message);
    }
  });
  await waitFor('the tray host to own org.kde.StatusNotifierWatcher', () => lines.length > 0, 10_000);

  const ask = (command) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the tray host did not answer ${command}`)), 10_000);
      waiting.push((answer) => {
        clearTimeout(timer);
        if (answer.error) reject(new Error(`tray host: ${answer.error}`));
        else resolve(answer);
      });
      host.stdin.write(`${command}\n`);
    });

  return {
    address,
    registered: () => registered,
    dump: () => ask('dump'),
    click: (label) => ask(`click ${label}`),
    notices: async () => (await ask('notices')).notices,
    act: (id, key) => ask(`act ${id} ${key}`),
    close: async () => {
      host.stdin.end();
      host.kill();
      log.end();
    },
  };
}

/** The menu's labels, in order, sub-menus as nested arrays, a checked item as "[x] label". */
export function menuLabels(entries) {
  return entries
    .filter((e) => !e.separator)
    .map((e) => {
      const label = e.checked === undefined ? e.label : `${e.checked ? '[x]' : '[ ]'} ${e.label}`;
      return e.children ? [label, menuLabels(e.children)] : label;
    });
}
