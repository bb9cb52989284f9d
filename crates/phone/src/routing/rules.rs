//! Routing rules: `when <condition> then <action>`, where the condition is a CEL expression
//! (Common Expression Language, via the `cel` crate) over the call and the phone's state, and
//! the action is one of a fixed set (ring, auto_answer, reject_busy, forward(...), ...).
//!
//! Rules are checked when they are saved ([`Rule::parse`]): the condition must parse, use only
//! the variables in [`VARIABLES`] and the functions in [`FUNCTIONS`], and give true or false on
//! sample calls; the action must be known and have the right arguments. Errors are sentences
//! that name what is wrong and suggest the closest correct name.

use super::classify::CallKind;
use super::schedule::LocalTime;
use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::objects::Value;
use cel::{Context, Env, Program};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// What to do with an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ring (with the call-waiting tone instead of the ringer if a call is active).
    Ring,
    /// Ring, and play the call-waiting tone even if there is no active call.
    RingWithCallWaiting,
    /// Answer automatically. `None` in a rule means "after the Call-Info `answer-after` delay
    /// if the caller sent one, else at once"; in a [`super::Decision`] it is always `Some`.
    AutoAnswer { delay_secs: Option<u32> },
    /// Reject with 486 Busy Here.
    RejectBusy,
    /// Reject with 603 Decline.
    RejectDecline,
    /// Redirect with 302 Moved Temporarily to `target` (a number, extension or SIP URI).
    Forward { target: String },
    /// Ring; if not answered within `after_secs`, redirect to `target` (302).
    ForwardNoAnswer { target: String, after_secs: u32 },
}

/// The action names rules may use, with their argument forms (for errors and docs).
pub const ACTIONS: &[(&str, &str)] = &[
    ("ring", "ring"),
    ("ring_with_call_waiting", "ring_with_call_waiting"),
    ("auto_answer", "auto_answer or auto_answer(SECONDS)"),
    ("reject_busy", "reject_busy"),
    ("reject_decline", "reject_decline"),
    ("forward", "forward(\"TARGET\")"),
    (
        "forward_no_answer",
        "forward_no_answer(\"TARGET\", SECONDS)",
    ),
];

/// Longest delay accepted for auto-answer and forward-on-no-answer.
pub const MAX_DELAY_SECS: u32 = 600;

impl Action {
    /// Parses an action as written after `then`, e.g. `forward_no_answer("sip:vm@pbx", 20)`.
    pub fn parse(text: &str) -> Result<Action, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err(format!(
                "the action after `then` is missing; use one of {}",
                action_names()
            ));
        }
        let (name, args) = match t.find('(') {
            Some(open) => {
                if !t.ends_with(')') {
                    return Err(format!("`{t}` is missing its closing `)`"));
                }
                (
                    t[..open].trim(),
                    Some(split_args(&t[open + 1..t.len() - 1])?),
                )
            }
            None => (t, None),
        };
        fn usage(name: &str) -> &str {
            ACTIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, u)| *u)
                .unwrap_or(name)
        }
        let wrong_args = |name: &str| format!("`{t}`: write it as {}", usage(name));
        let args = args.unwrap_or_default();
        let action = match name {
            "ring" | "ring_with_call_waiting" | "reject_busy" | "reject_decline"
                if !args.is_empty() =>
            {
                return Err(format!("`{name}` takes no arguments"));
            }
            "ring" => Action::Ring,
            "ring_with_call_waiting" => Action::RingWithCallWaiting,
            "reject_busy" => Action::RejectBusy,
            "reject_decline" => Action::RejectDecline,
            "auto_answer" => match args.as_slice() {
                [] => Action::AutoAnswer { delay_secs: None },
                [secs] => Action::AutoAnswer {
                    delay_secs: Some(seconds(secs).map_err(|e| format!("`{t}`: {e}"))?),
                },
                _ => return Err(wrong_args(name)),
            },
            "forward" => match args.as_slice() {
                [target] => Action::Forward {
                    target: target_of(target).map_err(|e| format!("`{t}`: {e}"))?,
                },
                _ => return Err(wrong_args(name)),
            },
            "forward_no_answer" => match args.as_slice() {
                [target, secs] => Action::ForwardNoAnswer {
                    target: target_of(target).map_err(|e| format!("`{t}`: {e}"))?,
                    after_secs: seconds(secs)
                        .and_then(|s| {
                            if s == 0 {
                                Err("use forward(...) for 0 seconds".into())
                            } else {
                                Ok(s)
                            }
                        })
                        .map_err(|e| format!("`{t}`: {e}"))?,
                },
                _ => return Err(wrong_args(name)),
            },
            other => {
                let known: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
                return Err(match closest(other, &known) {
                    Some(s) => format!("unknown action `{other}` (did you mean `{s}`?)"),
                    None => format!("unknown action `{other}`; use one of {}", action_names()),
                });
            }
        };
        Ok(action)
    }

    /// The SIP response this action sends at once, if it ends the INVITE itself.
    pub fn sip_response(&self) -> Option<(u16, &'static str)> {
        match self {
            Action::RejectBusy => Some((486, "Busy Here")),
            Action::RejectDecline => Some((603, "Decline")),
            Action::Forward { .. } => Some((302, "Moved Temporarily")),
            _ => None,
        }
    }

    /// Does this action ring the phone (possibly followed by something else)?
    pub fn rings(&self) -> bool {
        matches!(
            self,
            Action::Ring | Action::RingWithCallWaiting | Action::ForwardNoAnswer { .. }
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Ring => write!(f, "ring"),
            Action::RingWithCallWaiting => write!(f, "ring_with_call_waiting"),
            Action::AutoAnswer { delay_secs: None } => write!(f, "auto_answer"),
            Action::AutoAnswer {
                delay_secs: Some(s),
            } => write!(f, "auto_answer({s})"),
            Action::RejectBusy => write!(f, "reject_busy"),
            Action::RejectDecline => write!(f, "reject_decline"),
            Action::Forward { target } => write!(f, "forward({target:?})"),
            Action::ForwardNoAnswer { target, after_secs } => {
                write!(f, "forward_no_answer({target:?}, {after_secs})")
            }
        }
    }
}

fn action_names() -> String {
    ACTIONS
        .iter()
        .map(|(_, u)| *u)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits `"a, b", 20` into its arguments (quotes removed), respecting quotes.
fn split_args(inner: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut was_quoted = false;
    for c in inner.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                was_quoted = true;
            }
            (None, ',') => {
                args.push(std::mem::take(&mut current).trim().to_string());
                was_quoted = false;
            }
            (None, c) => current.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("a quote is not closed in `({inner})`"));
    }
    let last = current.trim().to_string();
    if !last.is_empty() || was_quoted || !args.is_empty() {
        args.push(last);
    }
    Ok(args)
}

fn seconds(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(s) if s <= MAX_DELAY_SECS => Ok(s),
        Ok(_) => Err(format!(
            "{text} seconds is too long (at most {MAX_DELAY_SECS})"
        )),
        Err(_) => Err(format!("`{text}` is not a number of seconds")),
    }
}

fn target_of(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        Err("the forward target is empty".into())
    } else if t
        .chars()
        .any(|c| c.is_whitespace() || "<>\"'\\".contains(c))
    {
        Err(format!(
            "forward target `{t}` must be a number or a SIP URI without spaces, quotes or < >"
        ))
    } else {
        Ok(t.to_string())
    }
}

/// The variables a condition can use: (name, CEL type, meaning).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("kind", "string", "\"direct\" or \"queue\""),
    ("is_queue", "bool", "kind == \"queue\""),
    ("is_direct", "bool", "kind == \"direct\""),
    (
        "queue",
        "string",
        "the queue/group that offered the call (\"\" if direct)",
    ),
    (
        "forwarded",
        "bool",
        "Diversion or History-Info shows the call was forwarded",
    ),
    (
        "caller",
        "string",
        "caller's number or user part, e.g. \"+441632960001\"",
    ),
    (
        "caller_name",
        "string",
        "caller's display name (may be \"\")",
    ),
    (
        "called",
        "string",
        "the number/user the caller dialled (To user part)",
    ),
    (
        "account",
        "string",
        "AOR of the account the call came in on",
    ),
    (
        "active_calls",
        "int",
        "calls in progress (answered, including parked/held)",
    ),
    ("parked_count", "int", "calls parked or on hold"),
    ("ringing_calls", "int", "other incoming calls still ringing"),
    (
        "presence",
        "string",
        "our presence: \"available\", \"away\", \"busy\", \"dnd\", ...",
    ),
    ("dnd", "bool", "do-not-disturb is on"),
    (
        "in_business_hours",
        "bool",
        "now is inside the business-hours schedule (true if none is set)",
    ),
    ("hour", "int", "local hour 0-23"),
    ("minute", "int", "local minute 0-59"),
    (
        "weekday",
        "int",
        "local day of week, 1 = Monday ... 7 = Sunday",
    ),
    ("day", "string", "local day of week, \"mon\" ... \"sun\""),
    (
        "intercom",
        "bool",
        "Alert-Info asks for intercom/auto-answer, or Call-Info has answer-after",
    ),
    (
        "answer_after",
        "int",
        "Call-Info answer-after seconds, -1 if absent",
    ),
];

/// Functions (besides operators such as `&&`, `==`, `in`, `?:`) a condition can use.
pub const FUNCTIONS: &[&str] = &[
    "size",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "int",
    "uint",
    "double",
    "string",
    "bool",
];

/// The values of [`VARIABLES`] for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    pub kind: CallKind,
    pub queue: String,
    pub forwarded: bool,
    pub caller: String,
    pub caller_name: String,
    pub called: String,
    pub account: String,
    pub active_calls: u32,
    pub parked_count: u32,
    pub ringing_calls: u32,
    pub presence: String,
    pub dnd: bool,
    pub in_business_hours: bool,
    pub time: LocalTime,
    pub intercom: bool,
    pub answer_after: Option<u32>,
}

impl RuleInput {
    fn context(&self) -> Context<'static, 'static> {
        let mut c = Context::with_env(env());
        let s = |v: &str| Value::String(Arc::new(v.to_string()));
        let vars: [(&str, Value); 21] = [
            ("kind", s(self.kind.as_str())),
            ("is_queue", Value::Bool(self.kind == CallKind::Queue)),
            ("is_direct", Value::Bool(self.kind == CallKind::Direct)),
            ("queue", s(&self.queue)),
            ("forwarded", Value::Bool(self.forwarded)),
            ("caller", s(&self.caller)),
            ("caller_name", s(&self.caller_name)),
            ("called", s(&self.called)),
            ("account", s(&self.account)),
            ("active_calls", Value::Int(self.active_calls as i64)),
            ("parked_count", Value::Int(self.parked_count as i64)),
            ("ringing_calls", Value::Int(self.ringing_calls as i64)),
            ("presence", s(&self.presence)),
            ("dnd", Value::Bool(self.dnd)),
            ("in_business_hours", Value::Bool(self.in_business_hours)),
            ("hour", Value::Int(self.time.hour as i64)),
            ("minute", Value::Int(self.time.minute as i64)),
            ("weekday", Value::Int(self.time.weekday.number() as i64)),
            ("day", s(self.time.weekday.short_name())),
            ("intercom", Value::Bool(self.intercom)),
            (
                "answer_after",
                Value::Int(self.answer_after.map_or(-1, |a| a as i64)),
            ),
        ];
        for (name, value) in vars {
            c.add_variable_from_value(name, value);
        }
        c
    }

    /// Sample inputs used to check at save time that a condition evaluates to a bool.
    fn samples() -> [RuleInput; 2] {
        let idle_direct = RuleInput {
            kind: CallKind::Direct,
            queue: String::new(),
            forwarded: false,
            caller: "+441632960001".into(),
            caller_name: "Sample Caller".into(),
            called: "alice".into(),
            account: "sip:alice@example.com".into(),
            active_calls: 0,
            parked_count: 0,
            ringing_calls: 0,
            presence: "available".into(),
            dnd: false,
            in_business_hours: true,
            time: LocalTime::from_unix(1_795_428_000, 0),
            intercom: false,
            answer_after: None,
        };
        let busy_queue = RuleInput {
            kind: CallKind::Queue,
            queue: "sales".into(),
            forwarded: true,
            caller: "6001".into(),
            caller_name: String::new(),
            active_calls: 2,
            parked_count: 1,
            ringing_calls: 1,
            presence: "dnd".into(),
            dnd: true,
            in_business_hours: false,
            time: LocalTime::from_unix(1_795_392_000 + 5 * 86_400 + 22 * 3600, 0),
            intercom: true,
            answer_after: Some(2),
            ..idle_direct.clone()
        };
        [idle_direct, busy_queue]
    }
}

fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(Env::stdlib())).clone()
}

/// One checked rule.
#[derive(Debug)]
pub struct Rule {
    /// The rule as written, e.g. `when is_queue && active_calls > 0 then reject_busy`.
    pub text: String,
    /// The condition between `when` and `then`.
    pub condition: String,
    pub action: Action,
    program: Program,
}

impl Rule {
    /// Parses and checks a rule. The error is a sentence without the rule number (the caller
    /// adds "rule N: ").
    pub fn parse(text: &str) -> Result<Rule, String> {
        let t = text.trim();
        let shape = "write a rule as `when <condition> then <action>`";
        let lower = t.to_ascii_lowercase();
        if !(lower.starts_with("when") && lower[4..].starts_with(char::is_whitespace)) {
            return Err(if t.is_empty() {
                format!("the rule is empty; {shape}")
            } else {
                format!("it does not start with `when`; {shape}")
            });
        }
        let then_at = last_keyword(&lower, "then")
            .filter(|&i| i > 4)
            .ok_or_else(|| format!("`then <action>` is missing; {shape}"))?;
        let condition = t[4..then_at].trim();
        if condition.is_empty() {
            return Err(format!(
                "the condition between `when` and `then` is empty; {shape}"
            ));
        }
        let action = Action::parse(&t[then_at + 4..])?;
        let program = Program::compile(condition).map_err(|errors| {
            let detail = errors
                .errors
                .first()
                .map(|e| {
                    format!(
                        " at column {}: {}",
                        e.pos.1.max(1),
                        plain_syntax_error(&e.msg)
                    )
                })
                .unwrap_or_default();
            format!("the condition `{condition}` does not parse{detail}")
        })?;
        check_names(program.expression())?;
        for sample in RuleInput::samples() {
            match program.execute(&sample.context()) {
                Ok(Value::Bool(_)) => {}
                Ok(other) => {
                    return Err(format!(
                        "the condition `{condition}` must be true or false, but it gives a {}",
                        other.type_of()
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "the condition `{condition}` cannot be evaluated: {e}"
                    ));
                }
            }
        }
        Ok(Rule {
            text: t.to_string(),
            condition: condition.to_string(),
            action,
            program,
        })
    }

    /// Evaluates the condition for one call.
    pub fn matches(&self, input: &RuleInput) -> Result<bool, String> {
        self.matches_in(&input.context())
    }

    pub(crate) fn matches_in(&self, context: &Context<'_, '_>) -> Result<bool, String> {
        match self.program.execute(context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!(
                "the condition gave a {}, not true/false",
                other.type_of()
            )),
            Err(e) => Err(format!("the condition failed: {e}")),
        }
    }
}

impl RuleInput {
    /// The CEL context for evaluating several rules against this input.
    pub(crate) fn cel_context(&self) -> Context<'static, 'static> {
        self.context()
    }
}

/// The parser's message in words a user follows (no grammar token lists).
fn plain_syntax_error(msg: &str) -> String {
    let m = msg.trim().trim_start_matches("Syntax error:").trim();
    let m = m.split(" expecting ").next().unwrap_or(m).trim();
    if m.starts_with("mismatched input '<EOF>'") || m.starts_with("extraneous input '<EOF>'") {
        return "it ends where a value is expected".into();
    }
    if let Some(rest) = m.strip_prefix("missing ") {
        let what = unquote(rest.split(" at ").next().unwrap_or(rest));
        return format!("a `{what}` is missing");
    }
    if let Some(rest) = m.strip_prefix("token recognition error at: ") {
        let token = unquote(rest).trim();
        let hint = if token.starts_with('=') {
            " (compare with ==)"
        } else if token.starts_with(['\'', '"']) {
            " (a quote is not closed)"
        } else {
            ""
        };
        return format!("`{token}` is not understood{hint}");
    }
    if let Some(rest) = m
        .strip_prefix("mismatched input ")
        .or_else(|| m.strip_prefix("extraneous input "))
    {
        return format!("`{}` is not expected here", unquote(rest));
    }
    m.to_string()
}

/// `'x'` → `x` (one quote off each end, as the parser wraps tokens).
fn unquote(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_prefix('\'').unwrap_or(s);
    s.strip_suffix('\'').unwrap_or(s)
}

/// Byte index of the last whole-word occurrence of `word` in `lower` (outside quotes is not
/// tracked: a target containing ` then ` must be quoted differently).
fn last_keyword(lower: &str, word: &str) -> Option<usize> {
    lower.rmatch_indices(word).map(|(i, _)| i).find(|&i| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + word.len()..].chars().next();
        before.is_some_and(char::is_whitespace) && after.is_some_and(char::is_whitespace)
    })
}

/// Refuses unknown variables and functions, with a suggestion.
fn check_names(expr: &IdedExpr) -> Result<(), String> {
    let mut vars = BTreeSet::new();
    let mut funcs = BTreeSet::new();
    collect(expr, &mut Vec::new(), &mut vars, &mut funcs);
    let known_vars: Vec<&str> = VARIABLES.iter().map(|(n, _, _)| *n).collect();
    if let Some(v) = vars.iter().find(|v| !known_vars.contains(&v.as_str())) {
        return Err(match closest(v, &known_vars) {
            Some(s) => format!("unknown variable `{v}` (did you mean `{s}`?)"),
            None => format!(
                "unknown variable `{v}`; the variables are {}",
                known_vars.join(", ")
            ),
        });
    }
    let is_operator = |f: &str| !f.starts_with(|c: char| c.is_ascii_alphabetic());
    if let Some(f) = funcs
        .iter()
        .find(|f| !is_operator(f) && !FUNCTIONS.contains(&f.as_str()))
    {
        return Err(match closest(f, FUNCTIONS) {
            Some(s) => format!("unknown function `{f}` (did you mean `{s}`?)"),
            None => format!(
                "unknown function `{f}`; the functions are {}",
                FUNCTIONS.join(", ")
            ),
        });
    }
    Ok(())
}

/// Collects free variables (not bound by a comprehension macro such as `exists`) and functions.
fn collect(
    e: &IdedExpr,
    bound: &mut Vec<String>,
    vars: &mut BTreeSet<String>,
    funcs: &mut BTreeSet<String>,
) {
    match &e.expr {
        Expr::Unspecified | Expr::Literal(_) => {}
        Expr::Ident(name) => {
            if !name.starts_with('@') && !bound.contains(name) {
                vars.insert(name.clone());
            }
        }
        Expr::Call(call) => {
            funcs.insert(call.func_name.clone());
            if let Some(t) = &call.target {
                collect(t, bound, vars, funcs);
            }
            for a in &call.args {
                collect(a, bound, vars, funcs);
            }
        }
        Expr::Comprehension(c) => {
            collect(&c.iter_range, bound, vars, funcs);
            collect(&c.accu_init, bound, vars, funcs);
            let n = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            for part in [&c.loop_cond, &c.loop_step, &c.result] {
                collect(part, bound, vars, funcs);
            }
            bound.truncate(n);
        }
        Expr::List(l) => l
            .elements
            .iter()
            .for_each(|x| collect(x, bound, vars, funcs)),
        Expr::Select(s) => collect(&s.operand, bound, vars, funcs),
        Expr::Map(m) => m
            .entries
            .iter()
            .for_each(|en| collect_entry(&en.expr, bound, vars, funcs)),
        Expr::Struct(s) => s
            .entries
            .iter()
            .for_each(|en| collect_entry(&en.expr, bound, vars, funcs)),
    }
}

fn collect_entry(
    e: &EntryExpr,
    bound: &mut Vec<String>,
    vars: &mut BTreeSet<String>,
    funcs: &mut BTreeSet<String>,
) {
    match e {
        EntryExpr::StructField(f) => collect(&f.value, bound, vars, funcs),
        EntryExpr::MapEntry(m) => {
            collect(&m.key, bound, vars, funcs);
            collect(&m.value, bound, vars, funcs);
        }
    }
}

/// The known name closest to `word` if it is a plausible typo (edit distance ≤ 2, or ≤ 3 for
/// long names, ignoring case).
pub(crate) fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&w, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= if k.len() > 8 { 3 } else { 2 })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RuleInput {
        RuleInput::samples()[0].clone()
    }

    #[test]
    fn actions_parse_and_print() {
        let cases = [
            ("ring", Action::Ring),
            ("ring_with_call_waiting", Action::RingWithCallWaiting),
            ("auto_answer", Action::AutoAnswer { delay_secs: None }),
            (
                "auto_answer(3)",
                Action::AutoAnswer {
                    delay_secs: Some(3),
                },
            ),
            ("reject_busy", Action::RejectBusy),
            ("reject_decline", Action::RejectDecline),
            (
                "forward(\"sip:vm@pbx.example.com\")",
                Action::Forward {
                    target: "sip:vm@pbx.example.com".into(),
                },
            ),
            (
                "forward_no_answer('+441632960999', 20)",
                Action::ForwardNoAnswer {
                    target: "+441632960999".into(),
                    after_secs: 20,
                },
            ),
        ];
        for (text, want) in cases {
            let got = Action::parse(text).unwrap();
            assert_eq!(got, want, "{text}");
            // Printing gives text that parses back to the same action.
            assert_eq!(Action::parse(&got.to_string()).unwrap(), want);
        }
        // A bare target without quotes is accepted.
        assert_eq!(
            Action::parse("forward(2001)").unwrap(),
            Action::Forward {
                target: "2001".into()
            }
        );
    }

    #[test]
    fn action_sip_responses() {
        assert_eq!(Action::RejectBusy.sip_response(), Some((486, "Busy Here")));
        assert_eq!(Action::RejectDecline.sip_response(), Some((603, "Decline")));
        assert_eq!(
            Action::Forward { target: "x".into() }.sip_response(),
            Some((302, "Moved Temporarily"))
        );
        assert_eq!(Action::Ring.sip_response(), None);
        assert!(Action::ForwardNoAnswer {
            target: "x".into(),
            after_secs: 5
        }
        .rings());
        assert!(!Action::RejectBusy.rings());
    }

    #[test]
    fn bad_actions_say_what_is_wrong() {
        assert_eq!(
            Action::parse("rign").unwrap_err(),
            "unknown action `rign` (did you mean `ring`?)"
        );
        assert_eq!(
            Action::parse("reject_bussy").unwrap_err(),
            "unknown action `reject_bussy` (did you mean `reject_busy`?)"
        );
        assert!(Action::parse("explode")
            .unwrap_err()
            .starts_with("unknown action `explode`; use one of ring,"));
        assert_eq!(
            Action::parse("forward()").unwrap_err(),
            "`forward()`: write it as forward(\"TARGET\")"
        );
        assert_eq!(
            Action::parse("forward_no_answer(\"2001\")").unwrap_err(),
            "`forward_no_answer(\"2001\")`: write it as forward_no_answer(\"TARGET\", SECONDS)"
        );
        assert_eq!(
            Action::parse("forward_no_answer(\"2001\", soon)").unwrap_err(),
            "`forward_no_answer(\"2001\", soon)`: `soon` is not a number of seconds"
        );
        assert!(Action::parse("auto_answer(9999)")
            .unwrap_err()
            .contains("too long"));
        assert_eq!(
            Action::parse("ring(1)").unwrap_err(),
            "`ring` takes no arguments"
        );
        assert!(Action::parse("forward(\"sip:x")
            .unwrap_err()
            .contains("closing"));
        assert!(Action::parse("forward(\"a b\")")
            .unwrap_err()
            .contains("without spaces"));
        assert!(Action::parse("").unwrap_err().contains("missing"));
    }

    #[test]
    fn rules_parse_and_match() {
        let r = Rule::parse("when is_queue && active_calls > 0 then reject_busy").unwrap();
        assert_eq!(r.condition, "is_queue && active_calls > 0");
        assert_eq!(r.action, Action::RejectBusy);
        let mut i = input();
        assert!(!r.matches(&i).unwrap());
        i.kind = CallKind::Queue;
        assert!(!r.matches(&i).unwrap());
        i.active_calls = 1;
        assert!(r.matches(&i).unwrap());

        let r = Rule::parse("WHEN caller.startsWith(\"+44\") && day in [\"sat\", \"sun\"] THEN forward(\"sip:weekend@pbx\")").unwrap();
        let mut i = input();
        i.time = LocalTime::from_unix(1_795_392_000 + 5 * 86_400, 0); // a Saturday
        assert!(r.matches(&i).unwrap());
        i.caller = "+15550100".into();
        assert!(!r.matches(&i).unwrap());

        let r = Rule::parse("when caller.matches('^\\\\+1') || hour >= 18 then reject_decline")
            .unwrap();
        let mut i = input();
        i.caller = "+15550100".into();
        assert!(r.matches(&i).unwrap());

        // Comprehension variables are not mistaken for unknown variables.
        let r = Rule::parse(
            "when [\"+441632960001\", \"+441632960002\"].exists(n, n == caller) then ring",
        )
        .unwrap();
        assert!(r.matches(&input()).unwrap());

        // The last `then` splits, so a condition can contain a string with "then" inside.
        let r = Rule::parse("when caller_name == 'now and then' then ring").unwrap();
        assert_eq!(r.condition, "caller_name == 'now and then'");
    }

    #[test]
    fn every_documented_variable_is_bound() {
        for (name, _, _) in VARIABLES {
            let text = format!("when string({name}) != '\\u0000' then ring");
            let r = Rule::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(r.matches(&input()).unwrap(), "{name}");
        }
    }

    #[test]
    fn malformed_rules_are_refused_with_a_clear_reason() {
        let err = |t: &str| Rule::parse(t).unwrap_err();
        assert_eq!(
            err("when parkd_count > 0 then ring"),
            "unknown variable `parkd_count` (did you mean `parked_count`?)"
        );
        assert!(err("when shoe_size > 3 then ring")
            .starts_with("unknown variable `shoe_size`; the variables are kind,"));
        assert_eq!(
            err("when caller.startswith('+44') then ring"),
            "unknown function `startswith` (did you mean `startsWith`?)"
        );
        assert_eq!(
            err("when active_calls > then ring")
                .split(" at column")
                .next()
                .unwrap(),
            "the condition `active_calls >` does not parse"
        );
        assert_eq!(
            err("when active_calls + 1 then ring"),
            "the condition `active_calls + 1` must be true or false, but it gives a int"
        );
        assert!(err("when active_calls > 'x' then ring")
            .starts_with("the condition `active_calls > 'x'` cannot be evaluated"));
        assert_eq!(
            err("active_calls > 0 then ring"),
            "it does not start with `when`; write a rule as `when <condition> then <action>`"
        );
        assert_eq!(
            err("when active_calls > 0"),
            "`then <action>` is missing; write a rule as `when <condition> then <action>`"
        );
        assert_eq!(
            err("when then ring"),
            "the condition between `when` and `then` is empty; write a rule as `when <condition> then <action>`"
        );
        assert_eq!(
            err("when dnd then rign"),
            "unknown action `rign` (did you mean `ring`?)"
        );
        assert!(err("").starts_with("the rule is empty"));
    }

    #[test]
    fn syntax_errors_are_in_plain_words() {
        let err = |t: &str| Rule::parse(t).unwrap_err();
        assert_eq!(
            err("when active_calls > then ring"),
            "the condition `active_calls >` does not parse at column 15: it ends where a value is expected"
        );
        assert_eq!(
            err("when (dnd then ring"),
            "the condition `(dnd` does not parse at column 5: a `)` is missing"
        );
        assert_eq!(
            err("when caller = '1' then ring"),
            "the condition `caller = '1'` does not parse at column 8: `=` is not understood (compare with ==)"
        );
        assert_eq!(
            err("when 'abc then ring"),
            "the condition `'abc` does not parse at column 1: `'abc` is not understood (a quote is not closed)"
        );
        assert_eq!(
            err("when dnd dnd then ring"),
            "the condition `dnd dnd` does not parse at column 5: `dnd` is not expected here"
        );
    }

    #[test]
    fn typo_suggestions() {
        assert_eq!(
            closest("activ_calls", &["active_calls", "parked_count"]),
            Some("active_calls")
        );
        assert_eq!(closest("xyz", &["active_calls"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
