// The remote phone: baresip auto-answering on 127.0.0.1, with its ctrl_tcp event stream
// read by the test (that is where baresip reports received DTMF: CALL_DTMF_START events).

import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { start, waitFor, sleep } from './processes.mjs';

/** baresip's config file for a loopback-only auto-answering peer. */
export function baresipConfig({ sipPort, ctrlPort, rtpBase }) {
  return [
    'poll_method\t\tepoll',
    `sip_listen\t\t127.0.0.1:${sipPort}`,
    'net_interface\t\t127.0.0.1',
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\taubridge.so',
    'module_app\t\taccount.so',
    'module_app\t\tmenu.so',
    'module_app\t\tctrl_tcp.so',
    `ctrl_tcp_listen\t\t127.0.0.1:${ctrlPort}`,
    // No sound card: what baresip receives is looped back as what it sends.
    'audio_player\t\taubridge,e2e',
    'audio_source\t\taubridge,e2e',
    'audio_alert\t\taubridge,e2e',
    `rtp_ports\t\t${rtpBase}-${rtpBase + 40}`,
    '',
  ].join('\n');
}

/**
 * Starts baresip as `user@127.0.0.1:sipPort` in auto-answer (presenting `display` as its name,
 * if given); returns the peer handle.
 */
export async function startBaresip({ dir, user, sipPort, ctrlPort, rtpBase, logFile, display }) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config'), baresipConfig({ sipPort, ctrlPort, rtpBase }));
  writeFileSync(
    path.join(dir, 'accounts'),
    `${display ? `"${display}" ` : ''}<sip:${user}@127.0.0.1:${sipPort};transport=udp>;answermode=auto;regint=0\n`,
  );
  const proc = start('baresip', 'baresip', ['-f', dir], { logFile });
  const events = [];
  const socket = await waitFor(
    `baresip's ctrl_tcp port ${ctrlPort}`,
    () => {
      if (proc.exited) throw new Error(`baresip exited (${proc.exitCode}); see ${logFile}`);
      return connect(ctrlPort);
    },
    15000,
    200,
  );
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    // Netstrings: "<length>:<json>,"
    for (;;) {
      const colon = buffer.indexOf(':');
      if (colon < 0) break;
      const length = Number(buffer.slice(0, colon));
      if (!Number.isInteger(length) || buffer.length < colon + 1 + length + 1) break;
      const body = buffer.slice(colon + 1, colon + 1 + length);
      buffer = buffer.slice(colon + 1 + length + 1);
      try {
        events.push(JSON.parse(body));
      } catch {
        // Not JSON: ignore.
      }
    }
  });
  let token = 0;
  return {
    uri: `sip:${user}@127.0.0.1:${sipPort}`,
    /** Sends a ctrl_tcp command, e.g. `command('dial', 'sip:alice@127.0.0.1:5080')`, `command('hangup')`. */
    command: (name, params = '') => {
      const body = JSON.stringify({ command: name, params, token: String(++token) });
      socket.write(`${Buffer.byteLength(body)}:${body},`);
    },
    /** Events after index `from` of the given type. */
    eventsSince: (from, type) => events.slice(from).filter((e) => e.type === type),
    proc,
    /** Every ctrl_tcp event so far (objects with `type`, `param`, ...). */
    events,
    /** Digits baresip reported receiving as RFC 4733 events. */
    dtmfReceived: () => events.filter((e) => e.type === 'CALL_DTMF_START').map((e) => e.param).join(''),
    hasEvent: (type) => events.some((e) => e.type === type),
    close: async () => {
      socket.destroy();
      await sleep(10);
    },
  };
}

function connect(port) {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(null));
  });
}
