//! The end-of-run summary of `cargo xtask test`: one row per step (result, time, why it failed)
//! and the closing line `xtask: N passed, M failed` that CI reads.

use std::time::Duration;

/// How one step ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    Failed(String),
    Skipped,
}

/// One row of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    pub name: String,
    pub title: String,
    pub outcome: Outcome,
    pub duration: Duration,
}

/// `75 s` -> `1m15s`; under a minute `9.4s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The summary table followed by the closing count line (always the last line).
pub fn summary(results: &[StepResult], total: Duration) -> String {
    let name_width = results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let title_width = results
        .iter()
        .map(|r| r.title.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    out.push_str("\n==================== xtask test summary ====================\n");
    out.push_str(&format!(
        "{:<name_width$}  {:<title_width$}  {:<6}  {:>8}\n",
        "step", "what", "result", "time"
    ));
    for r in results {
        let (word, note) = match &r.outcome {
            Outcome::Passed => ("pass", String::new()),
            Outcome::Failed(why) => ("FAIL", format!("  {why}")),
            Outcome::Skipped => ("skip", String::new()),
        };
        out.push_str(&format!(
            "{:<name_width$}  {:<title_width$}  {:<6}  {:>8}{}\n",
            r.name,
            r.title,
            word,
            format_duration(r.duration),
            note
        ));
    }
    out.push_str(&format!("total time {}\n", format_duration(total)));
    out.push_str(&closing_line(results));
    out
}

/// `xtask: N passed, M failed` (with `, K skipped` when steps were left out on purpose).
pub fn closing_line(results: &[StepResult]) -> String {
    let passed = results
        .iter()
        .filter(|r| r.outcome == Outcome::Passed)
        .count();
    let failed = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .count();
    let skipped = results
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped)
        .count();
    if skipped > 0 {
        format!("xtask: {passed} passed, {failed} failed, {skipped} skipped")
    } else {
        format!("xtask: {passed} passed, {failed} failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, outcome: Outcome, secs: u64) -> StepResult {
        StepResult {
            name: name.into(),
            title: format!("{name} things"),
            outcome,
            duration: Duration::from_secs(secs),
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_millis(9_400)), "9.4s");
        assert_eq!(format_duration(Duration::from_secs(75)), "1m15s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "60m00s");
    }

    #[test]
    fn closing_line_counts_steps() {
        let results = vec![
            row("rust", Outcome::Passed, 1),
            row("ui", Outcome::Failed("npm ci failed".into()), 2),
            row("e2e", Outcome::Passed, 3),
        ];
        assert_eq!(closing_line(&results), "xtask: 2 passed, 1 failed");
    }

    #[test]
    fn skipped_steps_are_counted_separately() {
        let results = vec![
            row("rust", Outcome::Passed, 1),
            row("ui", Outcome::Skipped, 0),
        ];
        assert_eq!(
            closing_line(&results),
            "xtask: 1 passed, 0 failed, 1 skipped"
        );
    }

    #[test]
    fn summary_ends_with_the_closing_line_and_shows_reasons() {
        let results = vec![
            row("rust", Outcome::Passed, 61),
            row("ui", Outcome::Failed("ui/ does not exist".into()), 0),
        ];
        let text = summary(&results, Duration::from_secs(62));
        assert_eq!(text.lines().last(), Some("xtask: 1 passed, 1 failed"));
        assert!(text.contains("FAIL"));
        assert!(text.contains("ui/ does not exist"));
        assert!(text.contains("1m01s"));
    }
}
