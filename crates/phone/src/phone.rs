//! The `Phone` handle: commands in, `PhoneEvent`s out.
// NOTE: bodies are being written now; signatures are the contract for the CLI and the shell.

use crate::api::*;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct Phone {
    events: broadcast::Sender<PhoneEvent>,
}

impl Phone {
    /// Binds the SIP transport and starts the engine. Does not register yet.
    pub async fn start(config: PhoneConfig, password: PasswordSource) -> Result<Phone, PhoneError> {
        let _ = (config, password);
        let (events, _) = broadcast::channel(1024);
        Ok(Phone { events })
    }
    /// Every event from now on, in order.
    pub fn subscribe(&self) -> broadcast::Receiver<PhoneEvent> {
        self.events.subscribe()
    }
    /// Registers and waits for the first outcome; keeps refreshing in the background.
    pub async fn register(&self) -> Result<(), PhoneError> {
        Err(PhoneError::Other("not implemented yet".into()))
    }
    /// Un-registers (expires=0) and waits for the answer.
    pub async fn unregister(&self) -> Result<(), PhoneError> {
        Err(PhoneError::Other("not implemented yet".into()))
    }
    pub fn registration(&self) -> RegistrationState {
        RegistrationState::Unregistered
    }
    /// Starts an outgoing call to a SIP URI, `user@host`, or a bare number/extension
    /// (completed with the account's domain). Returns once the INVITE is sent.
    pub async fn dial(&self, target: &str, opts: CallOptions) -> Result<CallId, PhoneError> {
        let _ = (target, opts);
        Err(PhoneError::Other("not implemented yet".into()))
    }
    pub async fn answer(&self, id: CallId, opts: CallOptions) -> Result<(), PhoneError> {
        let _ = opts;
        Err(PhoneError::NoSuchCall(id))
    }
    /// Rejects a ringing incoming call: 486 (busy) or 603 (decline).
    pub async fn reject(&self, id: CallId, status: u16) -> Result<(), PhoneError> {
        let _ = status;
        Err(PhoneError::NoSuchCall(id))
    }
    /// CANCEL before answer, BYE after.
    pub async fn hangup(&self, id: CallId) -> Result<(), PhoneError> {
        Err(PhoneError::NoSuchCall(id))
    }
    /// RFC 4733 telephone-events, one per digit (0-9 * # A-D).
    pub async fn send_dtmf(&self, id: CallId, digits: &str) -> Result<(), PhoneError> {
        let _ = digits;
        Err(PhoneError::NoSuchCall(id))
    }
    pub async fn set_mute(&self, id: CallId, muted: bool) -> Result<(), PhoneError> {
        let _ = muted;
        Err(PhoneError::NoSuchCall(id))
    }
    pub fn calls(&self) -> Vec<CallInfo> {
        Vec::new()
    }
    pub fn history(&self, limit: usize) -> Result<Vec<HistoryEntry>, PhoneError> {
        let _ = limit;
        Ok(Vec::new())
    }
    /// Hangs up every call and un-registers.
    pub async fn shutdown(&self) {}
}
