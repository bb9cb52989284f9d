//! Blind transfers under way (RFC 3515 REFER and its NOTIFY progress): the far end of a call is
//! asked to call a target (a park orbit slot today; a colleague for the transfer feature next),
//! and this decides what each answer, progress report, time-out and end of the call means. Pure:
//! `PhoneCore` has the REFER sent and passes in what comes back with the time.

use crate::api::CallId;
use std::collections::HashMap;

/// How long the far end has, once it accepted the REFER, to report how its call went.
pub const OUTCOME_WITHIN_MS: i64 = 32_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Transfer {
    call: CallId,
    target: String,
    /// The far end answered the REFER with 2xx.
    accepted: bool,
    /// A NOTIFY reported a 2xx for its call to the target.
    succeeded: bool,
    /// Until when an outcome is waited for (set once accepted).
    deadline_ms: Option<i64>,
}

/// How the REFER itself was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferAnswer {
    Accepted,
    Refused {
        status: u16,
        reason: String,
    },
    /// The call's dialog was not confirmed (no REFER could be sent).
    NotConfirmed,
    Error(String),
}

/// Why a transfer did not happen (the call stays here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The REFER, or the far end's call to the target, was refused.
    Refused {
        status: u16,
        reason: String,
    },
    NotConfirmed,
    Error(String),
    /// Accepted, but no outcome came in time.
    NoOutcome {
        secs: i64,
    },
}

/// What a transfer input decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Nothing final yet.
    Pending,
    /// The far end reached the target: end our leg.
    Succeeded { call: CallId, target: String },
    /// It did not happen: the call stays (the core parks it locally and says why).
    Failed {
        call: CallId,
        target: String,
        why: Failure,
    },
}

/// The transfers under way, by the SIP Call-ID of the call being transferred.
#[derive(Debug, Default)]
pub struct Transfers {
    under_way: HashMap<String, Transfer>,
}

/// A second transfer of a call whose first is still under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyUnderWay;

impl Transfers {
    /// A REFER of `call` to `target` is about to be sent.
    pub fn start(
        &mut self,
        sip_call_id: &str,
        call: CallId,
        target: &str,
    ) -> Result<(), AlreadyUnderWay> {
        if self.under_way.values().any(|t| t.call == call) {
            return Err(AlreadyUnderWay);
        }
        self.under_way.insert(
            sip_call_id.to_string(),
            Transfer {
                call,
                target: target.to_string(),
                accepted: false,
                succeeded: false,
                deadline_ms: None,
            },
        );
        Ok(())
    }

    /// Whether a NOTIFY in this call's dialog is progress of a transfer.
    pub fn is_under_way(&self, sip_call_id: &str) -> bool {
        self.under_way.contains_key(sip_call_id)
    }

    /// The REFER was answered.
    pub fn answered(&mut self, sip_call_id: &str, answer: ReferAnswer, now_ms: i64) -> Progress {
        let Some(t) = self.under_way.get_mut(sip_call_id) else {
            return Progress::Pending;
        };
        let why = match answer {
            ReferAnswer::Accepted => {
                t.accepted = true;
                t.deadline_ms = Some(now_ms + OUTCOME_WITHIN_MS);
                return Progress::Pending;
            }
            ReferAnswer::Refused { status, reason } => Failure::Refused { status, reason },
            ReferAnswer::NotConfirmed => Failure::NotConfirmed,
            ReferAnswer::Error(e) => Failure::Error(e),
        };
        let t = self.under_way.remove(sip_call_id).expect("present");
        Progress::Failed {
            call: t.call,
            target: t.target,
            why,
        }
    }

    /// A NOTIFY reported the far end's call to the target at `status` (a sipfrag status line).
    pub fn notified(&mut self, sip_call_id: &str, status: u16, reason: &str) -> Progress {
        if status < 200 {
            return Progress::Pending;
        }
        let Some(t) = self.under_way.get_mut(sip_call_id) else {
            return Progress::Pending;
        };
        if status < 300 {
            // Kept until the call ends, so its end reads as transferred (`ended`).
            t.succeeded = true;
            t.deadline_ms = None;
            return Progress::Succeeded {
                call: t.call,
                target: t.target.clone(),
            };
        }
        let t = self.under_way.remove(sip_call_id).expect("present");
        Progress::Failed {
            call: t.call,
            target: t.target,
            why: Failure::Refused {
                status,
                reason: reason.to_string(),
            },
        }
    }

    /// Forgets a transfer that succeeded while its call goes on (a conference hand-over refers
    /// the same call again).
    pub fn forget(&mut self, sip_call_id: &str) {
        self.under_way.remove(sip_call_id);
    }

    /// Transfers whose outcome did not come in time.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Progress> {
        let late: Vec<String> = self
            .under_way
            .iter()
            .filter(|(_, t)| t.deadline_ms.is_some_and(|d| d <= now_ms))
            .map(|(k, _)| k.clone())
            .collect();
        late.into_iter()
            .filter_map(|k| self.under_way.remove(&k))
            .map(|t| Progress::Failed {
                call: t.call,
                target: t.target,
                why: Failure::NoOutcome {
                    secs: OUTCOME_WITHIN_MS / 1000,
                },
            })
            .collect()
    }

    /// When `tick` next has something to do.
    pub fn next_deadline(&self) -> Option<i64> {
        self.under_way.values().filter_map(|t| t.deadline_ms).min()
    }

    /// The call ended (`remote`: the far end hung up; else we did). Returns the target when the
    /// end means the transfer happened: it succeeded, or the far end hung up after accepting it
    /// (it is on its way to the target).
    pub fn ended(&mut self, sip_call_id: &str, remote: bool) -> Option<String> {
        let t = self.under_way.remove(sip_call_id)?;
        (t.succeeded || (t.accepted && remote)).then_some(t.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_then_a_200_sipfrag_succeeds_and_the_end_reads_as_transferred() {
        let mut t = Transfers::default();
        t.start("c1", 7, "701").unwrap();
        assert!(t.is_under_way("c1"));
        assert_eq!(
            t.start("c2", 7, "702"),
            Err(AlreadyUnderWay),
            "one transfer per call"
        );
        assert_eq!(
            t.answered("c1", ReferAnswer::Accepted, 1_000),
            Progress::Pending
        );
        assert_eq!(t.next_deadline(), Some(1_000 + OUTCOME_WITHIN_MS));
        assert_eq!(t.notified("c1", 100, "Trying"), Progress::Pending);
        assert_eq!(
            t.notified("c1", 200, "OK"),
            Progress::Succeeded {
                call: 7,
                target: "701".into()
            }
        );
        assert_eq!(t.next_deadline(), None, "no time-out after success");
        assert!(t.tick(1_000_000).is_empty());
        assert_eq!(
            t.ended("c1", false),
            Some("701".into()),
            "our BYE after success: transferred"
        );
        assert!(!t.is_under_way("c1"));
    }

    #[test]
    fn a_refused_refer_or_a_failed_call_to_the_target_keeps_the_call() {
        let mut t = Transfers::default();
        t.start("c1", 1, "701").unwrap();
        let failed = t.answered(
            "c1",
            ReferAnswer::Refused {
                status: 403,
                reason: "Forbidden".into(),
            },
            0,
        );
        assert_eq!(
            failed,
            Progress::Failed {
                call: 1,
                target: "701".into(),
                why: Failure::Refused {
                    status: 403,
                    reason: "Forbidden".into()
                }
            }
        );
        assert!(!t.is_under_way("c1"));
        t.start("c2", 2, "702").unwrap();
        t.answered("c2", ReferAnswer::Accepted, 0);
        let failed = t.notified("c2", 486, "Busy Here");
        assert_eq!(
            failed,
            Progress::Failed {
                call: 2,
                target: "702".into(),
                why: Failure::Refused {
                    status: 486,
                    reason: "Busy Here".into()
                }
            }
        );
        assert_eq!(
            t.ended("c2", true),
            None,
            "after a failure the end is the call's own"
        );
    }

    #[test]
    fn no_outcome_in_time_fails_and_an_accepted_transferee_hanging_up_counts_as_transferred() {
        let mut t = Transfers::default();
        t.start("c1", 1, "701").unwrap();
        t.answered("c1", ReferAnswer::Accepted, 0);
        assert!(t.tick(OUTCOME_WITHIN_MS - 1).is_empty());
        assert_eq!(
            t.tick(OUTCOME_WITHIN_MS),
            vec![Progress::Failed {
                call: 1,
                target: "701".into(),
                why: Failure::NoOutcome { secs: 32 }
            }]
        );
        t.start("c2", 2, "702").unwrap();
        t.answered("c2", ReferAnswer::Accepted, 0);
        assert_eq!(t.ended("c2", true), Some("702".into()));
        t.start("c3", 3, "703").unwrap();
        t.answered("c3", ReferAnswer::Accepted, 0);
        assert_eq!(
            t.ended("c3", false),
            None,
            "we hung up before any outcome: not transferred"
        );
    }

    #[test]
    fn a_refer_that_could_not_go_out_fails_at_once() {
        let mut t = Transfers::default();
        t.start("c1", 1, "701").unwrap();
        assert!(matches!(
            t.answered("c1", ReferAnswer::NotConfirmed, 0),
            Progress::Failed {
                why: Failure::NotConfirmed,
                ..
            }
        ));
        t.start("c1", 1, "701").unwrap();
        assert!(matches!(
            t.answered("c1", ReferAnswer::Error("x".into()), 0),
            Progress::Failed {
                why: Failure::Error(_),
                ..
            }
        ));
    }
}
