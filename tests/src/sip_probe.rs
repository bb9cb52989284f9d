//! A tiny SIP client over UDP for probing peers: sends one request (OPTIONS by default) and
//! returns the final response's status code and text. Used to wait until Kamailio is up, to
//! ask whether an AOR is still registered (OPTIONS to the AOR → 404 when it is not), and to
//! check that the CLI still answers after being sent garbage.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A final SIP response: status code and the whole message text.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub text: String,
}

fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{:x}{:x}{:x}",
        std::process::id(),
        t,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The text of a request `method` to `request_uri` sent from `local` (no body).
pub fn request_text(method: &str, request_uri: &str, local: SocketAddr) -> String {
    let id = unique();
    format!(
        "{method} {request_uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@127.0.0.1>;tag=t{id}\r\n\
         To: <{request_uri}>\r\n\
         Call-ID: probe-{id}@127.0.0.1\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:probe@{local}>\r\n\
         User-Agent: hookflash-tests-probe\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Parses the status code of a SIP response's first line.
pub fn parse_status(text: &str) -> Option<u16> {
    let first = text.lines().next()?;
    let mut parts = first.split_whitespace();
    if parts.next()? != "SIP/2.0" {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Sends `method` to `request_uri` at `target` over UDP and waits for a final response
/// (retransmitting every 500 ms). `None` on timeout.
pub fn request(
    target: SocketAddr,
    method: &str,
    request_uri: &str,
    timeout: Duration,
) -> Option<Response> {
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    let local = sock.local_addr().ok()?;
    let msg = request_text(method, request_uri, local);
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65536];
    let mut next_send = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        if now >= next_send {
            sock.send_to(msg.as_bytes(), target).ok()?;
            next_send = now + Duration::from_millis(500);
        }
        let wait = (deadline.min(next_send) - now).max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait)).ok()?;
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if let Some(status) = parse_status(&text) {
                if status >= 200 {
                    return Some(Response { status, text });
                }
            }
        }
    }
}

/// OPTIONS `request_uri` at `target`.
pub fn options(target: SocketAddr, request_uri: &str, timeout: Duration) -> Option<Response> {
    request(target, "OPTIONS", request_uri, timeout)
}

/// Sends raw bytes to `target` over UDP (for garbage / robustness tests).
pub fn send_raw(target: SocketAddr, bytes: &[u8]) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on 127.0.0.1");
    sock.send_to(bytes, target).expect("send UDP datagram");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status("SIP/2.0 404 Not Found\r\n"), Some(404));
        assert_eq!(parse_status("SIP/2.0 100 Trying\r\n"), Some(100));
        assert_eq!(parse_status("OPTIONS sip:x SIP/2.0\r\n"), None);
    }

    #[test]
    fn request_has_required_headers() {
        let t = request_text(
            "OPTIONS",
            "sip:a@127.0.0.1",
            "127.0.0.1:5000".parse().unwrap(),
        );
        for h in [
            "Via:",
            "From:",
            "To:",
            "Call-ID:",
            "CSeq: 1 OPTIONS",
            "Max-Forwards:",
        ] {
            assert!(t.contains(h), "{h} missing in {t}");
        }
        assert!(t.ends_with("\r\n\r\n"));
    }
}
