// Child processes of the test: each runs in its own process group with its output in a log
// file, and `stopAll` ends every group (TERM, then KILL) even when the test failed.

import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';

const running = new Set();

/** Starts `command` detached (own process group), stdout+stderr appended to `logFile`. */
export function start(name, command, args, { env = process.env, logFile, stdio } = {}) {
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, {
    env,
    detached: true,
    stdio: stdio ?? ['ignore', fd, fd],
  });
  closeSync(fd);
  const entry = { name, child, exited: false, exitCode: null };
  child.on('exit', (code, signal) => {
    entry.exited = true;
    entry.exitCode = code ?? signal;
  });
  child.on('error', (error) => {
    entry.exited = true;
    entry.exitCode = `could not start ${command}: ${error.message}`;
  });
  running.add(entry);
  return entry;
}

function signalGroup(entry, signal) {
  try {
    process.kill(-entry.child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Stops one process group: TERM, then KILL after `graceMs`. */
export async function stop(entry, graceMs = 3000) {
  if (!entry.exited && entry.child.pid) {
    signalGroup(entry, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (!entry.exited && Date.now() < deadline) await sleep(50);
  }
  // The group may still hold grandchildren (the app, WebKit processes) after the leader exited.
  signalGroup(entry, 'SIGKILL');
  running.delete(entry);
}

/** Stops every process started here, newest first. */
export async function stopAll() {
  for (const entry of [...running].reverse()) await stop(entry);
}

// Last resort if the runner exits without reaching the cleanup (e.g. Ctrl-C).
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const entry of running) signalGroup(entry, 'SIGKILL');
    process.exit(130);
  });
}
process.on('exit', () => {
  for (const entry of running) signalGroup(entry, 'SIGKILL');
});

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function canBindTcp(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function canBindUdp(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** A free TCP port on 127.0.0.1 (picked by the OS). */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A port free for SIP on UDP and TCP, with the next port free on TCP too (baresip's TLS). */
export async function freeSipPort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freeTcpPort();
    if (port >= 65535) continue;
    if ((await canBindUdp(port)) && (await canBindTcp(port + 1))) return port;
  }
  throw new Error('no free SIP port pair found on 127.0.0.1');
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor(what, check, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
}
