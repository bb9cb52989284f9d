// Kamailio for the e2e tests, started by the Rust harness's `peer` binary (tests/src/bin/peer.rs)
// so it is configured exactly like in the interop tests: registrar with digest auth (MD5 by
// default) for the given subscribers, domain 127.0.0.1, each saved registration logged as an
// `HF-SAVED user=<u> expires_hdr=<n> …` line in its log.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { start, waitFor } from './processes.mjs';

/**
 * Starts Kamailio with `users` (`name:password`); resolves to `{ port, log }` once it answers.
 * `peerBin`: the built `peer` binary (default: beside the app binary, or HOOKFLASH_PEER_BIN).
 */
export async function startKamailio({ users, digest = 'md5', peerBin, workDir, logDir }) {
  mkdirSync(workDir, { recursive: true });
  const ready = path.join(workDir, `kamailio-ready-${Date.now()}.json`);
  const args = ['kamailio', '--ready', ready, '--digest', digest, ...users.flatMap((u) => ['--user', u])];
  const proc = start('kamailio', peerBin, args, {
    env: { ...process.env, HOOKFLASH_TEST_DIR: path.join(workDir, 'peers') },
    logFile: path.join(logDir, 'kamailio-peer.log'),
  });
  return waitFor(
    'Kamailio (tests/src/bin/peer.rs) to answer',
    () => {
      if (proc.exited) throw new Error(`peer exited (${proc.exitCode}); see ${path.join(logDir, 'kamailio-peer.log')}`);
      return existsSync(ready) && JSON.parse(readFileSync(ready, 'utf8'));
    },
    20_000,
  );
}
