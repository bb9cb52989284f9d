// Finding tauri-driver and knowing when it (and the WebKitWebDriver it starts) listens: shared by
// the tests that drive the built app (app.e2e.test.mjs) and the installed one (installed.test.mjs).

import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** TAURI_DRIVER, else tauri-driver on PATH, else the one `cargo install` put in ~/.cargo/bin. */
export function findTauriDriver() {
  if (process.env.TAURI_DRIVER) return process.env.TAURI_DRIVER;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'tauri-driver'))) return path.join(dir, 'tauri-driver');
  }
  return path.join(os.homedir(), '.cargo', 'bin', 'tauri-driver');
}

/**
 * Whether something accepts TCP connections on 127.0.0.1:`port`: a plain probe (an HTTP one
 * would be forwarded to a WebKitWebDriver not up yet, and a session request then fails).
 */
export function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
