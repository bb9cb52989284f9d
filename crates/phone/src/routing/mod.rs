//! Routing of incoming calls on the phone: classify the call (direct or queue), then walk an
//! ordered list of `when <condition> then <action>` rules (presets, the user's rules, the
//! defaults) with the phone's state, and return what to do and which rule said so.
//!
//! The engine's side is small:
//! 1. at save/start: `let router = settings.compile()?;` ([`RoutingSettings::compile`]);
//! 2. per INVITE: fill a [`CallFacts`] from the request and a [`PhoneState`] from its own state,
//!    call [`Router::route`], act on [`Decision::action`] (its [`Decision::sip_response`] for
//!    rejects/forwards), and log/store [`Decision::summary`] in the history row.
//!
//! Everything here is pure: no SIP types, sockets or clocks (the time comes in `PhoneState`).

pub mod classify;
pub mod presets;
pub mod rules;
pub mod schedule;
pub mod settings;

pub use classify::{classify, CallFacts, CallKind, Classification, ClassifyConfig, HeaderMatch};
pub use presets::{
    BusinessHoursPreset, DndPreset, ForwardAlwaysPreset, ForwardNoAnswerPreset, Presets,
    RejectWith, RuleOrigin,
};
pub use rules::{Action, Rule, RuleInput};
pub use schedule::{LocalTime, Weekday, WeeklySchedule};
pub use settings::{InvalidRouting, RoutingSettings, SettingsProblem};

/// The phone's state when a call arrives, as rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneState {
    /// Calls in progress (connected or being set up), including parked/held ones; not counting
    /// the new call.
    pub active_calls: u32,
    /// Calls parked or on hold.
    pub parked_count: u32,
    /// Other incoming calls still ringing.
    pub ringing_calls: u32,
    /// Our presence (`available`, `away`, `busy`, `dnd`, ...).
    pub presence: String,
    /// The phone's do-not-disturb toggle (DND is on if this or the preset is on).
    pub dnd: bool,
    /// Now, in seconds since 1970-01-01 UTC.
    pub now_unix_secs: i64,
    /// The machine's current offset from UTC in seconds (used unless settings set `utc_offset`).
    pub local_utc_offset_secs: i32,
}

impl Default for PhoneState {
    fn default() -> Self {
        PhoneState {
            active_calls: 0,
            parked_count: 0,
            ringing_calls: 0,
            presence: "available".into(),
            dnd: false,
            now_unix_secs: 0,
            local_utc_offset_secs: 0,
        }
    }
}

/// The rule that decided a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRule {
    /// Position in the effective rule list (1-based), as [`Router::rules`] lists it.
    pub index: usize,
    pub origin: RuleOrigin,
    /// The rule's text.
    pub text: String,
}

/// What to do with one incoming call, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub classification: Classification,
    /// The action; `AutoAnswer` always carries its delay here.
    pub action: Action,
    /// Play the call-waiting tone instead of the ringer (the action rings and a call is in
    /// progress, or the rule asked for it).
    pub call_waiting: bool,
    pub rule: MatchedRule,
    /// Rules skipped because their condition failed at run time (logged, not fatal).
    pub warnings: Vec<String>,
}

impl Decision {
    /// The final SIP response to send at once (486, 603, 302), or `None` to ring / answer.
    pub fn sip_response(&self) -> Option<(u16, &'static str)> {
        self.action.sip_response()
    }

    /// One line for the log and the history row, e.g.
    /// `queue call (To names queue `sales`) from +441632960001: reject_busy (486 Busy Here) by default #2: when is_queue && active_calls > 0 then reject_busy`.
    pub fn summary(&self) -> String {
        let c = &self.classification;
        let response = self
            .sip_response()
            .map(|(code, reason)| format!(" ({code} {reason})"))
            .unwrap_or_default();
        let waiting = if self.call_waiting {
            " with call waiting"
        } else {
            ""
        };
        format!(
            "{} call ({}) from {}: {}{}{} by {} #{}: {}",
            c.kind.as_str(),
            c.reason,
            if c.caller.is_empty() {
                "unknown"
            } else {
                &c.caller
            },
            self.action,
            response,
            waiting,
            self.rule.origin,
            self.rule.index,
            self.rule.text
        )
    }
}

/// Checked routing settings, ready to decide calls. Build with [`RoutingSettings::compile`].
#[derive(Debug)]
pub struct Router {
    rules: Vec<(RuleOrigin, Rule)>,
    classify: ClassifyConfig,
    schedule: Option<WeeklySchedule>,
    utc_offset: Option<i32>,
    /// The do-not-disturb preset's switch (the `dnd` variable is it OR the phone's toggle).
    dnd_preset: bool,
}

impl Router {
    pub(crate) fn new(
        rules: Vec<(RuleOrigin, Rule)>,
        classify: ClassifyConfig,
        schedule: Option<WeeklySchedule>,
        utc_offset: Option<i32>,
        dnd_preset: bool,
    ) -> Router {
        Router {
            rules,
            classify,
            schedule,
            utc_offset,
            dnd_preset,
        }
    }

    /// The effective rule list in evaluation order: (1-based index, origin, text).
    pub fn rules(&self) -> impl Iterator<Item = (usize, RuleOrigin, &str)> {
        self.rules
            .iter()
            .enumerate()
            .map(|(i, (origin, rule))| (i + 1, *origin, rule.text.as_str()))
    }

    /// The values rules see for this call (also useful to show in a "test a rule" UI).
    pub fn input(&self, facts: &CallFacts, state: &PhoneState) -> RuleInput {
        let c = classify(facts, &self.classify);
        self.input_for(&c, facts, state)
    }

    fn input_for(&self, c: &Classification, facts: &CallFacts, state: &PhoneState) -> RuleInput {
        let offset = self.utc_offset.unwrap_or(state.local_utc_offset_secs);
        let time = LocalTime::from_unix(state.now_unix_secs, offset);
        RuleInput {
            kind: c.kind,
            queue: c.queue.clone(),
            forwarded: c.forwarded,
            caller: c.caller.clone(),
            caller_name: c.caller_name.clone(),
            called: c.called.clone(),
            account: facts.account_aor.clone(),
            active_calls: state.active_calls,
            parked_count: state.parked_count,
            ringing_calls: state.ringing_calls,
            presence: state.presence.clone(),
            dnd: state.dnd || self.dnd_preset,
            in_business_hours: self.schedule.as_ref().is_none_or(|s| s.is_open(time)),
            time,
            intercom: c.intercom,
            answer_after: c.answer_after,
        }
    }

    /// Decides one incoming call.
    pub fn route(&self, facts: &CallFacts, state: &PhoneState) -> Decision {
        let classification = classify(facts, &self.classify);
        let input = self.input_for(&classification, facts, state);
        let context = input.cel_context();
        let mut warnings = Vec::new();
        for (i, (origin, rule)) in self.rules.iter().enumerate() {
            match rule.matches_in(&context) {
                Ok(true) => {
                    let action = match &rule.action {
                        Action::AutoAnswer { delay_secs: None } => Action::AutoAnswer {
                            delay_secs: Some(classification.answer_after.unwrap_or(0)),
                        },
                        other => other.clone(),
                    };
                    let call_waiting = action == Action::RingWithCallWaiting
                        || (action.rings() && state.active_calls > 0);
                    return Decision {
                        classification,
                        action,
                        call_waiting,
                        rule: MatchedRule {
                            index: i + 1,
                            origin: *origin,
                            text: rule.text.clone(),
                        },
                        warnings,
                    };
                }
                Ok(false) => {}
                Err(e) => warnings.push(format!("{origin} #{}: {e}; skipped", i + 1)),
            }
        }
        // The rule list always ends with `when true then ring`, so this is only reached if that
        // rule failed, which it cannot; ring rather than lose the call.
        Decision {
            classification,
            action: Action::Ring,
            call_waiting: state.active_calls > 0,
            rule: MatchedRule {
                index: 0,
                origin: RuleOrigin::Default,
                text: "no rule matched".into(),
            },
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23 00:00:00 UTC, a Monday.
    const MONDAY: i64 = 1_795_392_000;
    const HOUR: i64 = 3600;

    fn direct_call() -> CallFacts {
        CallFacts {
            request_uri: "sip:alice@192.0.2.10:5060".into(),
            to: "<sip:alice@example.com>".into(),
            from: "\"Bob\" <sip:+441632960001@example.com>;tag=1".into(),
            account_aor: "sip:alice@example.com".into(),
            ..Default::default()
        }
    }

    fn queue_call() -> CallFacts {
        CallFacts {
            to: "\"Sales\" <sip:sales@example.com>".into(),
            ..direct_call()
        }
    }

    fn state(active_calls: u32, dnd: bool, now: i64) -> PhoneState {
        PhoneState {
            active_calls,
            parked_count: active_calls.saturating_sub(1),
            dnd,
            now_unix_secs: now,
            ..Default::default()
        }
    }

    fn office_settings() -> RoutingSettings {
        RoutingSettings {
            classify: ClassifyConfig {
                queues: vec!["sales".into()],
                ..Default::default()
            },
            presets: Presets {
                business_hours: BusinessHoursPreset {
                    enabled: true,
                    hours: vec!["Mon-Fri 09:00-17:30".into()],
                    outside: "forward(\"sip:voicemail@example.com\")".into(),
                },
                ..Default::default()
            },
            utc_offset: Some("+01:00".into()),
            ..Default::default()
        }
    }

    /// Direct vs queue × idle vs busy × DND × business hours, with the SIP response each gives.
    #[test]
    fn routing_matrix() {
        let router = office_settings().compile().unwrap();
        // Monday 10:00 and 20:00 local (+01:00).
        let open = MONDAY + 9 * HOUR;
        let closed = MONDAY + 19 * HOUR;
        // (queue, busy, dnd, in hours) -> (action, SIP response, call waiting, deciding origin)
        type Case = (
            bool,
            bool,
            bool,
            bool,
            &'static str,
            Option<u16>,
            bool,
            &'static str,
        );
        let cases: [Case; 16] = [
            (false, false, false, true, "ring", None, false, "default"),
            (false, true, false, true, "ring", None, true, "default"),
            (true, false, false, true, "ring", None, false, "default"),
            (
                true,
                true,
                false,
                true,
                "reject_busy",
                Some(486),
                false,
                "default",
            ),
            (
                false,
                false,
                false,
                false,
                "forward(\"sip:voicemail@example.com\")",
                Some(302),
                false,
                "preset business_hours",
            ),
            (
                false,
                true,
                false,
                false,
                "forward(\"sip:voicemail@example.com\")",
                Some(302),
                false,
                "preset business_hours",
            ),
            (
                true,
                false,
                false,
                false,
                "forward(\"sip:voicemail@example.com\")",
                Some(302),
                false,
                "preset business_hours",
            ),
            (
                true,
                true,
                false,
                false,
                "forward(\"sip:voicemail@example.com\")",
                Some(302),
                false,
                "preset business_hours",
            ),
            (
                false,
                false,
                true,
                true,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
            (
                false,
                true,
                true,
                true,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
            (
                true,
                false,
                true,
                true,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
            (
                true,
                true,
                true,
                true,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
            (
                false,
                false,
                true,
                false,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
            (
                false,
                true,
                true,
                false,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
            (
                true,
                false,
                true,
                false,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
            (
                true,
                true,
                true,
                false,
                "reject_busy",
                Some(486),
                false,
                "preset do_not_disturb",
            ),
        ];
        for (queue, busy, dnd, in_hours, action, response, waiting, origin) in cases {
            let facts = if queue { queue_call() } else { direct_call() };
            let s = state(
                if busy { 2 } else { 0 },
                dnd,
                if in_hours { open } else { closed },
            );
            let d = router.route(&facts, &s);
            let case = format!(
                "queue={queue} busy={busy} dnd={dnd} in_hours={in_hours}: {}",
                d.summary()
            );
            assert_eq!(d.classification.kind == CallKind::Queue, queue, "{case}");
            assert_eq!(d.action.to_string(), action, "{case}");
            assert_eq!(d.sip_response().map(|r| r.0), response, "{case}");
            assert_eq!(d.call_waiting, waiting, "{case}");
            assert_eq!(d.rule.origin.to_string(), origin, "{case}");
            assert!(d.warnings.is_empty(), "{case}");
        }
    }

    #[test]
    fn seeds_defaults_without_any_settings() {
        let router = RoutingSettings {
            classify: ClassifyConfig {
                queues: vec!["sales".into()],
                ..Default::default()
            },
            ..Default::default()
        }
        .compile()
        .unwrap();
        let d = router.route(&queue_call(), &state(1, false, MONDAY));
        assert_eq!(d.action, Action::RejectBusy);
        assert_eq!(d.rule.index, 2);
        assert_eq!(
            d.rule.text,
            "when is_queue && active_calls > 0 then reject_busy"
        );
        let d = router.route(&direct_call(), &state(3, false, MONDAY));
        assert_eq!(d.action, Action::Ring);
        assert!(d.call_waiting);
        assert_eq!(d.rule.index, 3);
        // The phone's DND toggle alone rejects.
        let d = router.route(&direct_call(), &state(0, true, MONDAY));
        assert_eq!(d.sip_response(), Some((486, "Busy Here")));
    }

    #[test]
    fn user_rules_come_before_defaults_and_the_match_is_reported() {
        let mut settings = office_settings();
        settings.presets.business_hours.enabled = false;
        settings.rules = vec![
            "when caller == '+441632960099' then reject_decline".into(),
            "when is_queue && parked_count == 0 then ring_with_call_waiting".into(),
        ];
        let router = settings.compile().unwrap();
        // A busy queue call with nothing parked (one active call) now rings with call waiting.
        let d = router.route(&queue_call(), &state(1, false, MONDAY));
        assert_eq!(d.action, Action::RingWithCallWaiting);
        assert!(d.call_waiting);
        assert_eq!(d.rule.origin, RuleOrigin::User(2));
        assert_eq!(d.rule.index, 3);
        // With a parked call it falls through to the default: busy.
        let d = router.route(&queue_call(), &state(2, false, MONDAY));
        assert_eq!(d.action, Action::RejectBusy);
        assert_eq!(
            d.summary(),
            "queue call (To names queue `sales`) from +441632960001: reject_busy (486 Busy Here) by default #4: when is_queue && active_calls > 0 then reject_busy"
        );
        let mut blocked = direct_call();
        blocked.from = "<sip:+441632960099@example.com>".into();
        let d = router.route(&blocked, &state(0, false, MONDAY));
        assert_eq!(d.sip_response(), Some((603, "Decline")));
        assert_eq!(d.rule.origin, RuleOrigin::User(1));
        assert_eq!(
            d.rule.text,
            "when caller == '+441632960099' then reject_decline"
        );
    }

    #[test]
    fn presets_busy_on_busy_forward_always_and_no_answer() {
        let mut settings = RoutingSettings::default();
        settings.presets.busy_on_busy = true;
        settings.presets.forward_no_answer = ForwardNoAnswerPreset {
            enabled: true,
            target: "sip:voicemail@example.com".into(),
            after_secs: 20,
        };
        let router = settings.compile().unwrap();
        let d = router.route(&direct_call(), &state(1, false, MONDAY));
        assert_eq!(d.sip_response(), Some((486, "Busy Here")));
        assert_eq!(d.rule.origin, RuleOrigin::Preset("busy_on_busy"));
        let d = router.route(&direct_call(), &state(0, false, MONDAY));
        assert_eq!(
            d.action,
            Action::ForwardNoAnswer {
                target: "sip:voicemail@example.com".into(),
                after_secs: 20
            }
        );
        assert_eq!(d.sip_response(), None);
        assert!(!d.call_waiting);

        settings.presets.forward_always = ForwardAlwaysPreset {
            enabled: true,
            target: "2001".into(),
        };
        let d = settings
            .compile()
            .unwrap()
            .route(&direct_call(), &state(1, false, MONDAY));
        assert_eq!(
            d.action,
            Action::Forward {
                target: "2001".into()
            }
        );
        assert_eq!(d.sip_response(), Some((302, "Moved Temporarily")));
    }

    #[test]
    fn intercom_auto_answer_uses_answer_after() {
        let mut settings = RoutingSettings::default();
        settings.presets.auto_answer_intercom = true;
        let router = settings.compile().unwrap();
        let mut facts = direct_call();
        facts.call_info = vec!["<sip:pbx.example.com>;answer-after=2".into()];
        let d = router.route(&facts, &state(0, false, MONDAY));
        assert_eq!(
            d.action,
            Action::AutoAnswer {
                delay_secs: Some(2)
            }
        );
        // Alert-Info intercom without a delay answers at once.
        let mut facts = direct_call();
        facts.alert_info = vec!["<urn:alert:service:intercom>".into()];
        let d = router.route(&facts, &state(0, false, MONDAY));
        assert_eq!(
            d.action,
            Action::AutoAnswer {
                delay_secs: Some(0)
            }
        );
        // While busy, an intercom call rings (with call waiting) instead.
        let d = router.route(&facts, &state(1, false, MONDAY));
        assert_eq!(d.action, Action::Ring);
        assert!(d.call_waiting);
        // Without the preset, intercom headers are ignored.
        let d = RoutingSettings::default()
            .compile()
            .unwrap()
            .route(&facts, &state(0, false, MONDAY));
        assert_eq!(d.action, Action::Ring);
    }

    #[test]
    fn time_variables_use_the_configured_or_local_offset() {
        let settings = RoutingSettings {
            rules: vec!["when day == 'sun' && hour == 23 then reject_decline".into()],
            ..Default::default()
        };
        let router = settings.compile().unwrap();
        // Monday 00:30 UTC is Sunday 23:30 at -01:00.
        let mut s = state(0, false, MONDAY + 1800);
        s.local_utc_offset_secs = -HOUR as i32;
        assert_eq!(
            router.route(&direct_call(), &s).action,
            Action::RejectDecline
        );
        s.local_utc_offset_secs = 0;
        assert_eq!(router.route(&direct_call(), &s).action, Action::Ring);
        // A configured offset wins over the machine's.
        let settings = RoutingSettings {
            utc_offset: Some("-01:00".into()),
            ..settings
        };
        let router = settings.compile().unwrap();
        assert_eq!(
            router.route(&direct_call(), &s).action,
            Action::RejectDecline
        );
        let input = router.input(&direct_call(), &s);
        assert_eq!(
            (input.time.weekday, input.time.hour, input.time.minute),
            (Weekday::Sun, 23, 30)
        );
    }

    #[test]
    fn a_rule_failing_at_run_time_is_skipped_with_a_warning() {
        let settings = RoutingSettings {
            rules: vec!["when 10 / (active_calls - 1) > 0 then reject_decline".into()],
            ..Default::default()
        };
        let router = settings.compile().unwrap();
        let d = router.route(&direct_call(), &state(1, false, MONDAY));
        assert_eq!(d.action, Action::Ring);
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(
            d.warnings[0].starts_with("rule 1 #2: the condition failed"),
            "{:?}",
            d.warnings
        );
        let d = router.route(&direct_call(), &state(2, false, MONDAY));
        assert_eq!(d.action, Action::RejectDecline);
    }

    #[test]
    fn effective_rule_list_is_numbered_in_order() {
        let list: Vec<(usize, String)> = office_settings()
            .compile()
            .unwrap()
            .rules()
            .map(|(i, origin, _)| (i, origin.to_string()))
            .collect();
        assert_eq!(
            list,
            [
                (1, "preset do_not_disturb".to_string()),
                (2, "preset business_hours".to_string()),
                (3, "default".to_string()),
                (4, "default".to_string())
            ]
        );
    }

    #[test]
    fn router_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Router>();
    }
}
