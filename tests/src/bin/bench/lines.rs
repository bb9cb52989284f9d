//! The bench's result lines: one figure, its reference(s), the issue-3 target and a verdict.
//!
//! Printed as `bench-line<TAB>section<TAB>line<TAB>ours<TAB>reference<TAB>target<TAB>verdict`,
//! which `cargo xtask bench` turns into the report's table. A figure that could not be
//! measured is printed as `not measured: <why>` with verdict `not measured`; nothing is filled in.

/// How a figure compares with its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// No target for this line (information only).
    Info,
    NotMeasured,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Info => "info",
            Verdict::NotMeasured => "not measured",
        }
    }

    /// PASS when `ok`.
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub section: String,
    pub line: String,
    pub ours: String,
    pub reference: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Line {
    pub fn new(
        section: &str,
        line: &str,
        ours: String,
        reference: String,
        target: &str,
        verdict: Verdict,
    ) -> Line {
        Line {
            section: section.into(),
            line: line.into(),
            ours,
            reference,
            target: target.into(),
            verdict,
        }
    }

    pub fn not_measured(section: &str, line: &str, why: &str, target: &str) -> Line {
        Line::new(
            section,
            line,
            format!("not measured: {why}"),
            "-".into(),
            target,
            Verdict::NotMeasured,
        )
    }

    /// The machine-readable form xtask reads.
    pub fn to_tsv(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n'], " ");
        format!(
            "bench-line\t{}\t{}\t{}\t{}\t{}\t{}",
            clean(&self.section),
            clean(&self.line),
            clean(&self.ours),
            clean(&self.reference),
            clean(&self.target),
            self.verdict.word()
        )
    }

    /// Prints the line for xtask and a readable echo on stderr.
    pub fn emit(&self) {
        println!("{}", self.to_tsv());
        eprintln!(
            "[{}] {}: {}  (ref: {}; target: {})",
            self.verdict.word(),
            self.line,
            self.ours,
            self.reference,
            self.target
        );
    }
}

/// A figure with two decimals, or the reason it is missing.
pub fn fmt2(v: &Result<f64, String>) -> String {
    match v {
        Ok(x) => format!("{x:.2}"),
        Err(e) => format!("not measured: {e}"),
    }
}

/// The median of `v` (sorted copy); `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_has_seven_fields_and_no_stray_tabs() {
        let l = Line::new(
            "PESQ",
            "a\tb",
            "3.1".into(),
            "ref\nx".into(),
            "≥ 3",
            Verdict::Pass,
        );
        let t = l.to_tsv();
        assert_eq!(t.split('\t').count(), 7);
        assert!(t.ends_with("\tPASS"));
        assert!(!t.contains('\n'));
    }

    #[test]
    fn not_measured_says_why() {
        let l = Line::not_measured("Echo", "ERLE", "no AEC yet", "≥ 40 dB");
        assert_eq!(l.ours, "not measured: no AEC yet");
        assert_eq!(l.verdict, Verdict::NotMeasured);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(fmt2(&Ok(3.256)), "3.26");
    }
}
