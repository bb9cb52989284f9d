// A minimal SIP registrar on 127.0.0.1 for the tests: answers every REGISTER with 200 OK
// (no authentication) and records what it was asked, so a test can see REGISTER / un-REGISTER.

import dgram from 'node:dgram';

/** Seconds a REGISTER asks for: Contact `;expires=` wins over the Expires header (RFC 3261 10.2.1.1). */
export function requestedExpires(message) {
  const head = message.split('\r\n\r\n')[0].split('\r\n');
  const contact = head.find((line) => /^(contact|m)\s*:/i.test(line));
  const param = contact?.match(/;\s*expires\s*=\s*(\d+)/i);
  if (param) return Number(param[1]);
  const header = head.find((line) => /^expires\s*:/i.test(line));
  return header ? Number(header.split(':')[1].trim()) : null;
}

/** Builds the 200 OK for a REGISTER: the dialog headers copied, the contact echoed. */
export function okFor(message) {
  const head = message.split('\r\n\r\n')[0].split('\r\n');
  const keep = head.slice(1).filter((line) => /^(via|v|from|f|to|t|call-id|i|cseq|contact|m)\s*:/i.test(line));
  const expires = requestedExpires(message);
  const extra = expires === null ? [] : [`Expires: ${expires}`];
  return ['SIP/2.0 200 OK', ...keep, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
}

/** Starts the registrar on a free UDP port; resolves to `{ port, registers, close }`. */
export function startRegistrar() {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const registers = [];
    socket.on('message', (data, from) => {
      const message = data.toString('utf8');
      if (!message.startsWith('REGISTER ')) return;
      registers.push({ at: Date.now(), expires: requestedExpires(message), message });
      socket.send(okFor(message), from.port, from.address);
    });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () =>
      resolve({ port: socket.address().port, registers, close: () => new Promise((done) => socket.close(done)) }),
    );
  });
}
