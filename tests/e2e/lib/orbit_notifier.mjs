// A scripted park-orbit notifier on 127.0.0.1 for the tests: accepts every SUBSCRIBE to
// `Event: dialog` (200 OK, no authentication) and sends one NOTIFY with an RFC 4235
// dialog-info document per slot it was told about: a slot with a parked party shows a
// confirmed dialog, any other slot an empty document (free). Stands in for the PBX/Kamailio
// presence server, which the Rust interop test (tests/tests/shared_park.rs) runs for real.

import dgram from 'node:dgram';

/** The value of the first header `name` (case-insensitive; no compact forms needed here). */
export function header(message, name) {
  const head = message.split('\r\n\r\n')[0].split('\r\n');
  const line = head.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(line.indexOf(':') + 1).trim() : null;
}

/** The dialog-info document for `slot`: `parked` = { uri, display } or null (free). */
export function dialogInfo(slot, parked, version) {
  const dialog = parked
    ? `<dialog id="d-${slot}" direction="recipient"><state>confirmed</state>` +
      `<remote><identity display="${parked.display}">${parked.uri}</identity></remote></dialog>`
    : '';
  return (
    `<?xml version="1.0"?>\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="${version}" ` +
    `state="full" entity="sip:${slot}@127.0.0.1">${dialog}</dialog-info>`
  );
}

/** Starts the notifier; `parked` maps slot → { uri, display }. Resolves to `{ port, subscribes, close }`. */
export function startOrbitNotifier(parked) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const subscribes = [];
    let cseq = 1;
    socket.on('message', (data, from) => {
      const message = data.toString('utf8');
      if (!message.startsWith('SUBSCRIBE ')) return; // 200s to our NOTIFYs need nothing
      subscribes.push(message);
      const me = `127.0.0.1:${socket.address().port}`;
      const slot = message.split(' ')[1].replace(/^sips?:/, '').split('@')[0];
      const to = header(message, 'To');
      const toTagged = to.includes('tag=') ? to : `${to};tag=orbit${slot}`;
      const expires = header(message, 'Expires') ?? '600';
      const ok = [
        'SIP/2.0 200 OK',
        `Via: ${header(message, 'Via')}`,
        `From: ${header(message, 'From')}`,
        `To: ${toTagged}`,
        `Call-ID: ${header(message, 'Call-ID')}`,
        `CSeq: ${header(message, 'CSeq')}`,
        `Contact: <sip:${slot}@${me}>`,
        `Expires: ${expires}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(ok, from.port, from.address);
      const fromTag = header(message, 'From').split('tag=')[1].split(';')[0];
      const body = dialogInfo(slot, parked[slot] ?? null, cseq);
      const state = expires === '0' ? 'terminated;reason=timeout' : `active;expires=${expires}`;
      const notify = [
        `NOTIFY sip:alice@${from.address}:${from.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${me};branch=z9hG4bKorbit${cseq}`,
        'Max-Forwards: 70',
        `From: ${toTagged.replace(/^.*?</, '<')}`,
        `To: ${header(message, 'From')}`,
        `Call-ID: ${header(message, 'Call-ID')}`,
        `CSeq: ${cseq++} NOTIFY`,
        `Contact: <sip:${slot}@${me}>`,
        'Event: dialog',
        `Subscription-State: ${state}`,
        'Content-Type: application/dialog-info+xml',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
      setTimeout(() => socket.send(notify, from.port, from.address), 50);
    });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () =>
      resolve({ port: socket.address().port, subscribes, close: () => new Promise((done) => socket.close(done)) }),
    );
  });
}
