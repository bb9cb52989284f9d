//! Routing presets: the common choices (do-not-disturb, busy-on-busy, forward always, forward
//! on no answer, business hours, auto-answer intercom calls) as switches in settings. Each one
//! expands to ordinary rules in the same language as the user's own, placed around them:
//!
//! 1. `do_not_disturb`      `when dnd then reject_busy` (or `reject_decline`)  — always present
//! 2. `forward_always`      `when true then forward("T")`
//! 3. `business_hours`      `when !in_business_hours then <outside action>`
//! 4. `auto_answer_intercom` `when intercom && active_calls == 0 then auto_answer`
//! 5. the user's rules, in order
//! 6. `busy_on_busy`        `when active_calls > 0 then reject_busy`
//! 7. default               `when is_queue && active_calls > 0 then reject_busy`
//! 8. `forward_no_answer`   `when true then forward_no_answer("T", N)`
//! 9. default               `when true then ring`

use serde::{Deserialize, Serialize};

/// How do-not-disturb rejects calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum RejectWith {
    /// 486 Busy Here.
    #[default]
    Busy,
    /// 603 Decline.
    Decline,
}

/// Do-not-disturb: while on (here, or the phone's DND toggle), every call is rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct DndPreset {
    pub enabled: bool,
    pub reject_with: RejectWith,
}

/// Forward every call (302) to `target`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardAlwaysPreset {
    pub enabled: bool,
    pub target: String,
}

/// Ring, and forward (302) to `target` if not answered within `after_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardNoAnswerPreset {
    pub enabled: bool,
    pub target: String,
    pub after_secs: u32,
}

impl Default for ForwardNoAnswerPreset {
    fn default() -> Self {
        ForwardNoAnswerPreset {
            enabled: false,
            target: String::new(),
            after_secs: 20,
        }
    }
}

/// Opening hours; outside them calls get the `outside` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessHoursPreset {
    pub enabled: bool,
    /// Windows like `Mon-Fri 09:00-17:30`, `Sat 10:00-13:00`.
    pub hours: Vec<String>,
    /// What happens outside business hours, as a rule action (`reject_decline`,
    /// `forward("sip:voicemail@pbx")`, ...).
    pub outside: String,
}

impl Default for BusinessHoursPreset {
    fn default() -> Self {
        BusinessHoursPreset {
            enabled: false,
            hours: vec!["Mon-Fri 09:00-17:30".into()],
            outside: "reject_decline".into(),
        }
    }
}

/// The preset switches, as stored in settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct Presets {
    pub do_not_disturb: DndPreset,
    /// Reject any new call with 486 while a call is in progress.
    pub busy_on_busy: bool,
    pub forward_always: ForwardAlwaysPreset,
    pub forward_no_answer: ForwardNoAnswerPreset,
    pub business_hours: BusinessHoursPreset,
    /// Answer intercom calls (Alert-Info intercom/auto-answer, Call-Info answer-after) when idle.
    pub auto_answer_intercom: bool,
}

/// Where a rule in the effective list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum RuleOrigin {
    /// A preset, by its settings name (`do_not_disturb`, `business_hours`, ...).
    Preset(&'static str),
    /// The user's rule number N (1-based, as shown in settings).
    User(usize),
    /// One of the built-in defaults (queue busy while busy; ring).
    Default,
}

impl std::fmt::Display for RuleOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleOrigin::Preset(name) => write!(f, "preset {name}"),
            RuleOrigin::User(n) => write!(f, "rule {n}"),
            RuleOrigin::Default => write!(f, "default"),
        }
    }
}

/// A rule to be, before checking: origin, the settings field it comes from, and its text.
pub(crate) struct RuleSource {
    pub origin: RuleOrigin,
    pub field: String,
    pub text: String,
}

impl Presets {
    /// The full ordered rule list: presets around the user's rules, then the defaults.
    pub(crate) fn expand(&self, user_rules: &[String]) -> Vec<RuleSource> {
        let mut out = Vec::new();
        let mut push = |origin: RuleOrigin, field: &str, text: String| {
            out.push(RuleSource {
                origin,
                field: field.to_string(),
                text,
            })
        };
        let dnd_action = match self.do_not_disturb.reject_with {
            RejectWith::Busy => "reject_busy",
            RejectWith::Decline => "reject_decline",
        };
        push(
            RuleOrigin::Preset("do_not_disturb"),
            "presets.do_not_disturb",
            format!("when dnd then {dnd_action}"),
        );
        if self.forward_always.enabled {
            push(
                RuleOrigin::Preset("forward_always"),
                "presets.forward_always.target",
                format!(
                    "when true then forward({})",
                    quoted(&self.forward_always.target)
                ),
            );
        }
        if self.business_hours.enabled {
            push(
                RuleOrigin::Preset("business_hours"),
                "presets.business_hours.outside",
                format!(
                    "when !in_business_hours then {}",
                    self.business_hours.outside.trim()
                ),
            );
        }
        if self.auto_answer_intercom {
            push(
                RuleOrigin::Preset("auto_answer_intercom"),
                "presets.auto_answer_intercom",
                "when intercom && active_calls == 0 then auto_answer".into(),
            );
        }
        for (i, text) in user_rules.iter().enumerate() {
            push(
                RuleOrigin::User(i + 1),
                &format!("rules[{}]", i + 1),
                text.clone(),
            );
        }
        if self.busy_on_busy {
            push(
                RuleOrigin::Preset("busy_on_busy"),
                "presets.busy_on_busy",
                "when active_calls > 0 then reject_busy".into(),
            );
        }
        push(
            RuleOrigin::Default,
            "default",
            "when is_queue && active_calls > 0 then reject_busy".into(),
        );
        if self.forward_no_answer.enabled {
            push(
                RuleOrigin::Preset("forward_no_answer"),
                "presets.forward_no_answer",
                format!(
                    "when true then forward_no_answer({}, {})",
                    quoted(&self.forward_no_answer.target),
                    self.forward_no_answer.after_secs
                ),
            );
        }
        push(RuleOrigin::Default, "default", "when true then ring".into());
        out
    }
}

fn quoted(target: &str) -> String {
    format!("\"{}\"", target.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_only_dnd_queue_busy_and_ring() {
        let texts: Vec<String> = Presets::default()
            .expand(&[])
            .into_iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(
            texts,
            [
                "when dnd then reject_busy",
                "when is_queue && active_calls > 0 then reject_busy",
                "when true then ring"
            ]
        );
    }

    #[test]
    fn every_preset_in_its_place_around_user_rules() {
        let presets = Presets {
            do_not_disturb: DndPreset {
                enabled: true,
                reject_with: RejectWith::Decline,
            },
            busy_on_busy: true,
            forward_always: ForwardAlwaysPreset {
                enabled: true,
                target: "sip:bob@example.com".into(),
            },
            forward_no_answer: ForwardNoAnswerPreset {
                enabled: true,
                target: " 2001 ".into(),
                after_secs: 15,
            },
            business_hours: BusinessHoursPreset {
                enabled: true,
                hours: vec!["Mon-Fri 09:00-17:00".into()],
                outside: "forward(\"sip:vm@pbx\")".into(),
            },
            auto_answer_intercom: true,
        };
        let rules = presets.expand(&["when caller == '1' then ring".into()]);
        let got: Vec<(String, String)> = rules
            .iter()
            .map(|r| (r.origin.to_string(), r.text.clone()))
            .collect();
        let want = [
            ("preset do_not_disturb", "when dnd then reject_decline"),
            (
                "preset forward_always",
                "when true then forward(\"sip:bob@example.com\")",
            ),
            (
                "preset business_hours",
                "when !in_business_hours then forward(\"sip:vm@pbx\")",
            ),
            (
                "preset auto_answer_intercom",
                "when intercom && active_calls == 0 then auto_answer",
            ),
            ("rule 1", "when caller == '1' then ring"),
            (
                "preset busy_on_busy",
                "when active_calls > 0 then reject_busy",
            ),
            (
                "default",
                "when is_queue && active_calls > 0 then reject_busy",
            ),
            (
                "preset forward_no_answer",
                "when true then forward_no_answer(\"2001\", 15)",
            ),
            ("default", "when true then ring"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(rules[4].field, "rules[1]");
    }
}
