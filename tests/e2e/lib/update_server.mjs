// An update server for the updater tests: a signing key of the test's own (the Tauri CLI from
// ui/node_modules, the same `tauri signer` a release uses), packages signed with it, and a plain
// HTTP server on loopback serving the manifest and the packages, counting every request.
// The debug app takes its address and key from HOOKFLASH_UPDATE_ENDPOINT and
// HOOKFLASH_UPDATE_PUBKEY (src-tauri/src/updates.rs); an installed build reads neither.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/** Makes a key pair in `dir` (no password); returns { key, pub } (paths and the public key text). */
export function makeSigningKey(tauriCli, dir) {
  mkdirSync(dir, { recursive: true });
  const key = path.join(dir, 'update.key');
  execFileSync(tauriCli, ['signer', 'generate', '--ci', '-p', '', '-f', '-w', key], { stdio: 'pipe', env: { ...process.env, CI: 'true' } });
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
}

/** Signs `file` for `version` with `key`; returns the signature text (the .sig file). */
export function sign(tauriCli, key, file, version) {
  execFileSync(tauriCli, ['signer', 'sign', '-f', key, '-p', '', '--app-version', version, file], { stdio: 'pipe' });
  return readFileSync(`${file}.sig`, 'utf8').trim();
}

/**
 * Serves `files` ({ '/latest.json': text or Buffer, ... }) on 127.0.0.1; `set(path, body)` changes
 * one. Returns { url(path), hits(path), set, close }.
 */
export async function startUpdateServer(files) {
  const served = { ...files };
  const hits = new Map();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const body = served[url.pathname];
    if (body === undefined) {
      res.writeHead(404).end('not here');
      return;
    }
    const type = url.pathname.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    hits: (p) => hits.get(p) ?? 0,
    set: (p, body) => {
      served[p] = body;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The manifest the updater reads: one release, one platform entry per key. */
export function manifest(version, notes, platforms) {
  return JSON.stringify({ version, notes, pub_date: '2026-12-01T09:00:00Z', platforms }, null, 2);
}

/** Writes `bytes` to `dir/name` and returns the path. */
export function writePackage(dir, name, bytes) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}
