//! A probe of a SIP server: one OPTIONS outside any dialog (RFC 3261 11) over the transport the
//! URI names, its answer, how long it took and where the server saw it come from. Not
//! authenticated: a 401/407 still shows the server is there. `hookflash-cli check` uses it to show
//! an administrator that an agent's registrar answers.

use crate::registration::seen_as;
use crate::stack::{Exchange, SipStack};
use crate::target::host_of;
use crate::types::SipUri;
use crate::SipError;
use rsipstack::sip::{Header, Method};
use rsipstack::transaction::make_tag;
use rsipstack::transport::SipAddr;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub status: u16,
    pub reason: String,
    pub round_trip: Duration,
    /// Where the server saw the OPTIONS come from (its Via `received`/`rport`), if it said.
    pub seen_as: Option<SocketAddr>,
}

/// Sends OPTIONS to `target` as `me` and waits for the final answer.
pub async fn options(stack: &SipStack, target: &SipUri, me: &SipUri) -> Result<Probed, SipError> {
    let server = host_of(target);
    let destination = SipAddr::try_from(&target.0).map_err(|e| SipError::Invalid {
        what: "server".into(),
        value: target.to_string(),
        detail: e.to_string(),
    })?;
    let (conn, _) = match stack
        .endpoint
        .transport_layer
        .lookup(&destination, None)
        .await
    {
        Ok(found) => found,
        Err(e) => {
            let secure = target.transport().is_some_and(|t| t.is_secure());
            return Err(
                crate::stack::connect_error(&destination, &server, &e.to_string(), secure).await,
            );
        }
    };
    let local = conn.get_addr().clone();
    let via = stack.endpoint.get_via(Some(local), None)?;
    let from = rsipstack::sip::typed::From {
        display_name: None,
        uri: me.bare().0,
        params: vec![rsipstack::sip::Param::Tag(make_tag().to_string().into())],
    };
    let to = rsipstack::sip::typed::To {
        display_name: None,
        uri: target.bare().0,
        params: vec![],
    };
    let call_id = format!("{}@hookflash", make_tag());
    let mut request = stack.endpoint.make_request(
        Method::Options,
        target.0.clone(),
        via,
        from,
        to,
        1,
        Some(call_id.into()),
    );
    request
        .headers
        .push(Header::Accept("application/sdp".into()));
    let started = Instant::now();
    let response = stack
        .exchange(request, &conn, &destination)
        .await
        .map_err(|e| SipError::Unreachable {
            server: server.clone(),
            detail: match e {
                Exchange::NotSent(detail) => detail,
                Exchange::NoAnswer => "no answer to OPTIONS (timed out)".into(),
            },
        })?;
    let round_trip = started.elapsed();
    let status = u16::from(response.status_code.clone());
    if status == 408 {
        // rsipstack reports its own time-out as a 408.
        return Err(SipError::Unreachable {
            server,
            detail: "no answer to OPTIONS (timed out)".into(),
        });
    }
    let phrase = response.status_code.to_string();
    let reason = phrase
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
        .to_string();
    Ok(Probed {
        status,
        reason,
        round_trip,
        seen_as: seen_as(&response),
    })
}
