//! Routing settings as the user edits and saves them ([`RoutingSettings`], TOML/JSON via serde),
//! and their validation as a whole: every problem is collected, each naming the rule number or
//! the settings field it belongs to, so the UI can show it next to the right input.

use super::classify::ClassifyConfig;
use super::presets::{Presets, RuleOrigin};
use super::rules::Rule;
use super::schedule::{parse_utc_offset, WeeklySchedule};
use super::Router;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Everything routing needs from settings.
///
/// ```toml
/// rules = ["when caller.startsWith('+44') && is_direct then ring"]
/// utc_offset = "+01:00"
/// [classify]
/// queues = ["sales", "sip:support@pbx.example.com"]
/// [presets.business_hours]
/// enabled = true
/// hours = ["Mon-Fri 09:00-17:30"]
/// outside = "forward(\"sip:voicemail@pbx.example.com\")"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingSettings {
    /// How queue/group calls are recognised.
    pub classify: ClassifyConfig,
    /// Preset switches, expanded to rules around `rules`.
    pub presets: Presets,
    /// The user's rules, `when <condition> then <action>`, checked in order.
    pub rules: Vec<String>,
    /// Time zone for `hour`/`weekday`/`day` and business hours (`+01:00`); unset means the
    /// phone's local offset passed in [`super::PhoneState`].
    pub utc_offset: Option<String>,
}

/// One thing wrong with routing settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SettingsProblem {
    /// The user's rule number (1-based) if the problem is in a rule.
    pub rule: Option<usize>,
    /// The settings field: `rules[3]`, `presets.business_hours.hours`, `utc_offset`, ...
    pub field: String,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(n) => write!(f, "rule {n}: {}", self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Routing settings that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidRouting {
    pub problems: Vec<SettingsProblem>,
}

impl fmt::Display for InvalidRouting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(|p| p.to_string()).collect();
        write!(f, "routing settings not saved: {}", lines.join("; "))
    }
}

impl std::error::Error for InvalidRouting {}

impl RoutingSettings {
    /// Reads settings from TOML text (a file or the `[routing]` table of a profile) and
    /// checks them.
    pub fn from_toml(text: &str) -> Result<RoutingSettings, InvalidRouting> {
        let settings: RoutingSettings = toml::from_str(text).map_err(|e| InvalidRouting {
            problems: vec![SettingsProblem {
                rule: None,
                field: "routing".into(),
                message: format!("the settings file is not valid: {}", e.message()),
            }],
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// TOML text for these settings.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks everything (call this when the user saves); the same as [`Self::compile`]
    /// without keeping the result.
    pub fn validate(&self) -> Result<(), InvalidRouting> {
        self.compile().map(|_| ())
    }

    /// Checks everything and builds the [`Router`] the engine asks for each incoming call.
    pub fn compile(&self) -> Result<Router, InvalidRouting> {
        let mut problems = Vec::new();
        fn problem(
            problems: &mut Vec<SettingsProblem>,
            rule: Option<usize>,
            field: &str,
            message: String,
        ) {
            problems.push(SettingsProblem {
                rule,
                field: field.to_string(),
                message,
            })
        }

        let utc_offset = match &self.utc_offset {
            Some(text) => match parse_utc_offset(text) {
                Ok(o) => Some(o),
                Err(e) => {
                    problem(&mut problems, None, "utc_offset", e);
                    None
                }
            },
            None => None,
        };

        let p = &self.presets;
        let mut schedule = None;
        if p.business_hours.enabled {
            if p.business_hours.hours.is_empty() {
                problem(&mut problems, None, "presets.business_hours.hours", "business hours are on but no hours are set; add one like `Mon-Fri 09:00-17:30`".into());
            }
            match WeeklySchedule::parse(&p.business_hours.hours) {
                Ok(s) => schedule = Some(s),
                Err(e) => problem(&mut problems, None, "presets.business_hours.hours", e),
            }
        }
        if p.forward_always.enabled && p.forward_always.target.trim().is_empty() {
            problem(
                &mut problems,
                None,
                "presets.forward_always.target",
                "forward always is on but has no target; enter a number or SIP address".into(),
            );
        }
        if p.forward_no_answer.enabled && p.forward_no_answer.target.trim().is_empty() {
            problem(
                &mut problems,
                None,
                "presets.forward_no_answer.target",
                "forward on no answer is on but has no target; enter a number or SIP address"
                    .into(),
            );
        }
        if let Some(h) = &self.classify.queue_header {
            if h.name.trim().is_empty() || h.name.contains([':', ' ']) {
                problem(
                    &mut problems,
                    None,
                    "classify.queue_header.name",
                    format!("`{}` is not a header name", h.name),
                );
            }
        }

        let mut rules = Vec::new();
        for source in p.expand(&self.rules) {
            let already_reported = problems.iter().any(|q| source.field.starts_with(&q.field));
            match Rule::parse(&source.text) {
                Ok(rule) => rules.push((source.origin, rule)),
                Err(_) if already_reported => {}
                Err(e) => match source.origin {
                    RuleOrigin::User(n) => problem(&mut problems, Some(n), &source.field, e),
                    _ => problem(&mut problems, None, &source.field, e),
                },
            }
        }

        if problems.is_empty() {
            Ok(Router::new(
                rules,
                self.classify.clone(),
                schedule,
                utc_offset,
                p.do_not_disturb.enabled,
            ))
        } else {
            Err(InvalidRouting { problems })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let s = RoutingSettings::default();
        s.validate().unwrap();
        assert_eq!(RoutingSettings::from_toml(&s.to_toml()).unwrap(), s);
        assert_eq!(RoutingSettings::from_toml("").unwrap(), s);
    }

    #[test]
    fn loads_a_full_settings_file() {
        let text = r#"
rules = [
  "when caller == '+441632960001' then ring",
  "when is_queue && parked_count > 0 then reject_decline",
]
utc_offset = "+01:00"

[classify]
queues = ["sales", "sip:support@pbx.example.com"]
queue_header = { name = "X-Queue" }

[presets]
busy_on_busy = false
auto_answer_intercom = true

[presets.do_not_disturb]
enabled = true
reject_with = "decline"

[presets.forward_no_answer]
enabled = true
target = "sip:voicemail@pbx.example.com"
after_secs = 25

[presets.business_hours]
enabled = true
hours = ["Mon-Fri 09:00-17:30", "Sat 10:00-12:00"]
outside = 'forward("sip:voicemail@pbx.example.com")'
"#;
        let s = RoutingSettings::from_toml(text).unwrap();
        assert_eq!(s.rules.len(), 2);
        assert_eq!(s.classify.queues, ["sales", "sip:support@pbx.example.com"]);
        assert_eq!(s.presets.forward_no_answer.after_secs, 25);
        assert!(s.presets.do_not_disturb.enabled);
        let router = s.compile().unwrap();
        // dnd, business hours, intercom, 2 user rules, queue default, no-answer, ring.
        assert_eq!(router.rules().count(), 8);
        assert_eq!(RoutingSettings::from_toml(&s.to_toml()).unwrap(), s);
    }

    #[test]
    fn every_problem_is_reported_with_rule_number_or_field() {
        let s = RoutingSettings {
            rules: vec![
                "when true then ring".into(),
                "when active_calls > 0 then rign".into(),
                "when parkd_count > 0 then reject_busy".into(),
            ],
            utc_offset: Some("CEST".into()),
            presets: Presets {
                business_hours: super::super::presets::BusinessHoursPreset {
                    enabled: true,
                    hours: vec!["Mon-Fri 9-17".into()],
                    outside: "voicemail".into(),
                },
                forward_always: super::super::presets::ForwardAlwaysPreset {
                    enabled: true,
                    target: " ".into(),
                },
                ..Default::default()
            },
            ..Default::default()
        };
        let err = s.validate().unwrap_err();
        let lines: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "utc_offset: time zone offset `CEST` is not understood; write it like +01:00, -05:00 or UTC",
                "presets.business_hours.hours: business hours `Mon-Fri 9-17`: `9` is not a time; write it like `Mon-Fri 09:00-17:30`",
                "presets.forward_always.target: forward always is on but has no target; enter a number or SIP address",
                "presets.business_hours.outside: unknown action `voicemail`; use one of ring, ring_with_call_waiting, auto_answer or auto_answer(SECONDS), reject_busy, reject_decline, forward(\"TARGET\"), forward_no_answer(\"TARGET\", SECONDS)",
                "rule 2: unknown action `rign` (did you mean `ring`?)",
                "rule 3: unknown variable `parkd_count` (did you mean `parked_count`?)",
            ]
        );
        assert_eq!(err.problems[4].rule, Some(2));
        assert_eq!(err.problems[4].field, "rules[2]");
        assert!(err
            .to_string()
            .starts_with("routing settings not saved: utc_offset:"));
    }

    /// The user documentation's examples are real: every example rule and the sample
    /// settings file in docs/routing.md are accepted.
    #[test]
    fn documented_examples_are_accepted() {
        let doc = include_str!("../../../../docs/routing.md");
        let block_after = |heading: &str, lang: &str| {
            let start = doc.find(heading).expect(heading);
            let open = doc[start..].find(&format!("```{lang}\n")).unwrap() + start + lang.len() + 4;
            let close = doc[open..].find("```").unwrap() + open;
            &doc[open..close]
        };
        let examples: Vec<String> = block_after("### Examples", "")
            .lines()
            .map(String::from)
            .collect();
        assert!(examples.len() >= 8);
        let s = RoutingSettings {
            rules: examples,
            ..Default::default()
        };
        if let Err(e) = s.validate() {
            panic!("{e}");
        }
        for (name, _, _) in super::super::rules::VARIABLES {
            assert!(
                doc.contains(&format!("`{name}`")),
                "variable {name} is not documented"
            );
        }
        for (name, _) in super::super::rules::ACTIONS {
            assert!(
                doc.contains(&format!("`{name}")),
                "action {name} is not documented"
            );
        }
        let file = block_after("## A complete routing settings file", "toml");
        RoutingSettings::from_toml(file).unwrap().compile().unwrap();
    }

    #[test]
    fn unknown_fields_and_bad_toml_are_refused() {
        let e = RoutingSettings::from_toml("rulez = []").unwrap_err();
        assert!(
            e.problems[0].message.contains("unknown field `rulez`"),
            "{e}"
        );
        let e = RoutingSettings::from_toml("[presets.do_not_disturb]\nreject_with = \"maybe\"")
            .unwrap_err();
        assert!(e.problems[0].message.contains("maybe"), "{e}");
    }
}
