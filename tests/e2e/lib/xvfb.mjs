// A private X display: Xvfb picks a free display number itself (-displayfd) and reports it.

import { start } from './processes.mjs';

/** Starts Xvfb; resolves to `{ display: ':N', proc }`. */
export function startXvfb(logFile) {
  return new Promise((resolve, reject) => {
    const proc = start('Xvfb', 'Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
      logFile,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    let text = '';
    const timer = setTimeout(() => reject(new Error('Xvfb did not report a display within 15 s')), 15000);
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}) before reporting its display; is the xvfb package installed?`));
    });
    proc.child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run Xvfb: ${error.message}; install the xvfb package`));
    });
    proc.child.stdio[3].on('data', (chunk) => {
      text += chunk.toString();
      const match = text.match(/^(\d+)\n/);
      if (match) {
        clearTimeout(timer);
        proc.child.removeAllListeners('exit');
        resolve({ display: `:${match[1]}`, proc });
      }
    });
  });
}
