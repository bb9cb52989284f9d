//! TURN over TCP or TLS (RFC 8656 §3.1, RFC 7065's `turn:…?transport=tcp` and `turns:`): the
//! connection from one media socket's TURN client to its server, for networks that let nothing
//! but TCP (often only TLS, port 443 or 5349) out. The relayed address is still UDP: only the way
//! to the server changes. STUN messages and ChannelData travel back to back on the stream;
//! [`Framer`] cuts the byte stream into them again (a STUN message is its 20-byte header plus the
//! length in it; ChannelData its 4-byte header plus its length, padded to 4 over a stream). The
//! TURN client (`turn.rs`) is the same as over UDP, told the transport is TCP so it does not
//! retransmit; the connection is an adapter: two tasks that write and read the stream, met
//! through channels so the transport's receiving loop can wait on it beside its UDP socket.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// How a TURN server is reached.
#[derive(Clone, Default)]
pub enum TurnTransport {
    /// Datagrams from the media socket itself (RFC 8656's usual way).
    #[default]
    Udp,
    /// A TCP connection.
    Tcp,
    /// TLS over TCP, the server's certificate checked for `name` against `config`'s roots.
    Tls {
        name: String,
        config: Arc<rustls::ClientConfig>,
        /// Turns a refused handshake's error into a sentence (e.g. naming an unknown issuer).
        explain: fn(server: &str, detail: &str) -> String,
    },
}

impl TurnTransport {
    pub fn is_stream(&self) -> bool {
        !matches!(self, TurnTransport::Udp)
    }

    /// "UDP", "TCP" or "TLS", as the user reads it.
    pub fn label(&self) -> &'static str {
        match self {
            TurnTransport::Udp => "UDP",
            TurnTransport::Tcp => "TCP",
            TurnTransport::Tls { .. } => "TLS",
        }
    }
}

impl PartialEq for TurnTransport {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TurnTransport::Tls { name: a, .. }, TurnTransport::Tls { name: b, .. }) => a == b,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for TurnTransport {}

impl fmt::Debug for TurnTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TurnTransport::Tls { name, .. } => write!(f, "Tls({name})"),
            other => f.write_str(other.label()),
        }
    }
}

/// Cuts a byte stream into STUN messages and ChannelData (sans-I/O).
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

const NEITHER: &str = "the TURN server sent something that is neither STUN nor ChannelData";

/// A message longer than this is not TURN: the stream is out of step (or not a TURN server).
const MAX_MESSAGE: usize = 65_535 + 20;

impl Framer {
    /// Bytes as they came off the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole message (ChannelData without its padding), `Ok(None)` until one is
    /// complete, or an error when the stream holds something that is neither.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, String> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize;
        let (whole, keep) = match self.buf[0] {
            // STUN: the two top bits zero, the magic cookie after the length; the length
            // excludes the 20-byte header.
            0x00..=0x3F => {
                if self.buf.len() < 8 {
                    return Ok(None);
                }
                if self.buf[4..8] != [0x21, 0x12, 0xA4, 0x42] {
                    return Err(NEITHER.into());
                }
                (20 + len, 20 + len)
            }
            // ChannelData: channel numbers 0x4000-0x4FFF, padded to a multiple of 4 on a stream.
            0x40..=0x4F => (4 + len.div_ceil(4) * 4, 4 + len),
            _ => return Err(NEITHER.into()),
        };
        if whole > MAX_MESSAGE {
            return Err("the TURN server's stream is out of step".into());
        }
        if self.buf.len() < whole {
            return Ok(None);
        }
        let mut message: Vec<u8> = self.buf.drain(..whole).collect();
        message.truncate(keep);
        Ok(Some(message))
    }
}

/// A connection to a TURN server over TCP or TLS.
pub struct TurnLink {
    server: SocketAddr,
    out: mpsc::UnboundedSender<Vec<u8>>,
    incoming: tokio::sync::Mutex<mpsc::UnboundedReceiver<Result<Vec<u8>, String>>>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl fmt::Debug for TurnLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnLink")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Drop for TurnLink {
    fn drop(&mut self) {
        // The writer goes on until what was queued (a deallocation) has left; the reader stops.
        self.tasks[1].abort();
    }
}

impl TurnLink {
    /// Connects to `server` as `transport` says (TCP or TLS), within `within`. The error is a
    /// sentence naming the server and what failed (refused, no answer, the certificate).
    pub async fn connect(
        server: SocketAddr,
        transport: &TurnTransport,
        within: Duration,
    ) -> Result<TurnLink, String> {
        let over = transport.label();
        let tcp = match tokio::time::timeout(within, tokio::net::TcpStream::connect(server)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(format!(
                    "cannot reach the TURN server {server} over {over}: {e}"
                ))
            }
            Err(_) => {
                return Err(format!(
                    "the TURN server {server} did not accept a {over} connection within {:.1} s",
                    within.as_secs_f32()
                ))
            }
        };
        let _ = tcp.set_nodelay(true);
        match transport {
            TurnTransport::Udp => Err("TURN over UDP needs no connection".into()),
            TurnTransport::Tcp => Ok(Self::run(server, tcp)),
            TurnTransport::Tls {
                name,
                config,
                explain,
            } => {
                let who = if *name == server.ip().to_string() {
                    server.to_string()
                } else {
                    format!("{name} ({server})")
                };
                let server_name = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|_| format!("the TURN server name \"{name}\" cannot be checked against a certificate"))?;
                let connector = tokio_rustls::TlsConnector::from(config.clone());
                match tokio::time::timeout(within, connector.connect(server_name, tcp)).await {
                    Ok(Ok(tls)) => Ok(Self::run(server, tls)),
                    Ok(Err(e)) => Err(format!(
                        "the TURN server {who} over TLS: {}",
                        explain(name, &e.to_string())
                    )),
                    Err(_) => Err(format!(
                        "the TURN server {who} did not complete a TLS handshake within {:.1} s",
                        within.as_secs_f32()
                    )),
                }
            }
        }
    }

    fn run<S>(server: SocketAddr, stream: S) -> TurnLink
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let (out, mut to_send) = mpsc::unbounded_channel::<Vec<u8>>();
        let (deliver, incoming) = mpsc::unbounded_channel();
        let write = tokio::spawn(async move {
            while let Some(message) = to_send.recv().await {
                if writer.write_all(&message).await.is_err() || writer.flush().await.is_err() {
                    return;
                }
            }
            let _ = writer.shutdown().await;
        });
        let read = tokio::spawn(async move {
            let mut framer = Framer::default();
            let mut buf = vec![0u8; 4096];
            loop {
                let n = match reader.read(&mut buf).await {
                    Ok(0) => {
                        let _ = deliver.send(Err(format!(
                            "the TURN server {server} closed the connection"
                        )));
                        return;
                    }
                    Ok(n) => n,
                    Err(e) => {
                        let _ = deliver.send(Err(format!(
                            "the connection to the TURN server {server} failed: {e}"
                        )));
                        return;
                    }
                };
                framer.push(&buf[..n]);
                loop {
                    match framer.next_message() {
                        Ok(Some(m)) => {
                            if deliver.send(Ok(m)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = deliver.send(Err(format!("{e} ({server})")));
                            return;
                        }
                    }
                }
            }
        });
        TurnLink {
            server,
            out,
            incoming: tokio::sync::Mutex::new(incoming),
            tasks: [write, read],
        }
    }

    /// The server's address (what the TURN client sends to).
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Queues a message for the server (never waits).
    pub fn send(&self, message: Vec<u8>) {
        let _ = self.out.send(message);
    }

    /// The next message from the server, or why the connection ended (once; then never more).
    /// Cancel-safe: a message is not lost when the waiting is given up.
    pub async fn recv(&self) -> Result<Vec<u8>, String> {
        let mut incoming = self.incoming.lock().await;
        match incoming.recv().await {
            Some(r) => r,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(len: u16, fill: u8) -> Vec<u8> {
        let mut m = vec![0x01, 0x01];
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        m.extend(std::iter::repeat_n(fill, 12 + len as usize));
        m
    }

    fn channel_data(len: u16, fill: u8) -> Vec<u8> {
        let mut m = vec![0x40, 0x00];
        m.extend_from_slice(&len.to_be_bytes());
        m.extend(std::iter::repeat_n(fill, len as usize));
        m
    }

    /// Messages cut at every byte boundary come out whole, ChannelData without its padding.
    #[test]
    fn the_stream_is_cut_into_stun_messages_and_channel_data() {
        let a = stun(8, 1);
        let b = channel_data(5, 2);
        let c = stun(0, 3);
        let mut stream = a.clone();
        stream.extend_from_slice(&b);
        stream.extend_from_slice(&[0, 0, 0]); // padding to 4
        stream.extend_from_slice(&c);
        for cut in 0..stream.len() {
            let mut f = Framer::default();
            let mut got = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                f.push(piece);
                while let Some(m) = f.next_message().unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got, vec![a.clone(), b.clone(), c.clone()], "cut at {cut}");
        }
    }

    #[test]
    fn something_else_on_the_stream_is_an_error() {
        for junk in [
            &b"<html><body>"[..],
            b"\x16\x03\x01\x02\x00\x01\x00\x01",
            b"SSH-2.0-OpenSSH",
        ] {
            let mut f = Framer::default();
            f.push(junk);
            assert_eq!(f.next_message(), Err(NEITHER.to_string()), "{junk:?}");
        }
    }

    /// Over a real TCP connection: what is queued arrives framed, and the far end closing is
    /// said once.
    #[tokio::test]
    async fn a_tcp_link_carries_messages_both_ways() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let far = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = vec![0u8; 28];
            s.read_exact(&mut got).await.unwrap();
            let mut reply = channel_data(3, 9);
            reply.push(0);
            reply.extend_from_slice(&stun(4, 7));
            s.write_all(&reply[..5]).await.unwrap();
            s.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            s.write_all(&reply[5..]).await.unwrap();
            got
        });
        let link = TurnLink::connect(server, &TurnTransport::Tcp, Duration::from_secs(2))
            .await
            .unwrap();
        link.send(stun(8, 5));
        assert_eq!(far.await.unwrap(), stun(8, 5));
        assert_eq!(link.recv().await.unwrap(), channel_data(3, 9));
        assert_eq!(link.recv().await.unwrap(), stun(4, 7));
        let closed = link.recv().await.unwrap_err();
        assert_eq!(
            closed,
            format!("the TURN server {server} closed the connection")
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_named() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = TurnLink::connect(addr, &TurnTransport::Tcp, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(
            e.starts_with(&format!("cannot reach the TURN server {addr} over TCP:")),
            "{e}"
        );
    }
}
