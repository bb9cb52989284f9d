//! SIP-level errors, each carrying the sentence a user reads.

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SipError {
    #[error("registration refused ({status}) by {server}: {reason}")]
    Refused {
        status: u16,
        reason: String,
        server: String,
    },
    #[error("no answer from {server} ({detail})")]
    Unreachable { server: String, detail: String },
    #[error("TLS connection to {server} failed: {detail}")]
    Tls { server: String, detail: String },
    /// The server's certificate was refused; `detail` names why (`trust.rs`). Trying again
    /// cannot help until someone fixes the certificate or the trust settings.
    #[error("TLS connection to {server} refused: {detail}")]
    Certificate { server: String, detail: String },
    /// A WebSocket server answered the upgrade to SIP over WebSocket with an HTTP status.
    #[error("the WebSocket upgrade was refused ({status}{}) by {server}", if reason.is_empty() { String::new() } else { format!(" {reason}") })]
    WebSocketRefused {
        status: u16,
        reason: String,
        server: String,
    },
    #[error("invalid {what} '{value}': {detail}")]
    Invalid {
        what: String,
        value: String,
        detail: String,
    },
    #[error("cannot listen on {addr}: {detail}")]
    Bind { addr: String, detail: String },
    /// A request inside a call was challenged and the challenge not answered.
    #[error("{method} refused ({status} {reason}): {why}")]
    AuthRefused {
        method: String,
        status: u16,
        reason: String,
        why: String,
    },
    #[error("{0}")]
    Other(String),
}

impl From<rsipstack::Error> for SipError {
    fn from(e: rsipstack::Error) -> Self {
        SipError::Other(e.to_string())
    }
}
