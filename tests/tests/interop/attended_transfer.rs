//! Attended transfer as the transferor, against sipp peers whose every step is checked on the
//! wire: a caller (sipp, `uac_transferee.xml`) calls `hookflash-cli session`, which answers,
//! `consult`s a colleague (sipp, `uas_basic.xml`; the caller is held first) and `complete`s:
//! the caller gets a REFER — only after the hold was answered — whose Refer-To is the
//! colleague with a `Replaces` naming our dialog with the colleague exactly (its Call-ID, the
//! colleague's tag as to-tag, ours as from-tag, RFC 3891). The caller reports the target
//! connected; both our calls end "transferred" (the colleague's by our BYE, as a sipp does not
//! act on Replaces).

use hookflash_tests::sipp::{header_in, tag_of as tag, Sipp};
use hookflash_tests::{ports, TestDir};
use std::path::Path;
use std::time::Duration;

/// `%3B` → `;` and so on (the test's own, to check the CLI's escaping independently).
fn percent_decoded(s: &str) -> String {
    let (b, mut out, mut i) = (s.as_bytes(), Vec::new(), 0);
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex after %"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn consult_then_complete_refers_the_caller_with_a_replaces_naming_our_call_with_the_colleague() {
    let dir = TestDir::new("attended-transfer");
    let colleague = Sipp::uas("uas_basic.xml").named("colleague").timeout(40);
    let mut colleague_run = colleague.spawn(&dir);
    let port = ports::free_port();
    let script = format!(
        "wait-ringing 1 20\nanswer\nwait-calls 1 10\nconsult 1 sip:colleague@{}\nwait-calls 2 10\nwait 1\ncomplete 1 2\nwait 3\nlist\nquit\n",
        colleague.addr()
    );
    let mut cli = crate::session(&dir, &script, port, Path::new("null"), Path::new("null"));
    let mut caller_run = Sipp::uac("uac_transferee.xml", ([127, 0, 0, 1], port).into())
        .service("me")
        .timeout(40)
        .spawn(&dir);

    cli.wait_exit(Duration::from_secs(60));
    cli.assert_success();
    caller_run.assert_passed(Duration::from_secs(10));
    colleague_run.assert_passed(Duration::from_secs(10));
    let out = cli.stdout();

    let consulting = cli.expect_event("consulting", Duration::from_secs(1));
    assert_eq!(
        (
            consulting["call_id"].as_u64(),
            consulting["consult_id"].as_u64()
        ),
        (Some(1), Some(2)),
        "{consulting}"
    );
    // Our dialog with the colleague, as the colleague's sipp saw it.
    let theirs = colleague_run.messages();
    let call_id = header_in(&theirs, "SIP/2.0 200 OK", "Call-ID")
        .unwrap_or_else(|| panic!("no 200 in the colleague's trace:\n{theirs}"));
    let ours = tag(&header_in(&theirs, "SIP/2.0 200 OK", "From").unwrap_or_default());
    let colleagues = tag(&header_in(&theirs, "SIP/2.0 200 OK", "To").unwrap_or_default());
    // The REFER the caller got.
    let caller_msgs = caller_run.messages();
    let refer_to = header_in(&caller_msgs, "REFER sip:", "Refer-To")
        .unwrap_or_else(|| panic!("no REFER:\n{caller_msgs}"));
    let inner = refer_to.trim_start_matches('<').trim_end_matches('>');
    let (uri, query) = inner
        .split_once("?Replaces=")
        .unwrap_or_else(|| panic!("no Replaces in {refer_to}"));
    assert_eq!(
        uri,
        format!("sip:colleague@{}", colleague.addr()),
        "{refer_to}"
    );
    // Every parameter separator escaped, as a URI header value must be (RFC 3261 19.1.1).
    assert!(
        !query.contains(';') && !query.contains('=') && !query.contains('@'),
        "not escaped: {refer_to}"
    );
    let expected = format!("{call_id};to-tag={colleagues};from-tag={ours}");
    assert_eq!(
        percent_decoded(query),
        expected,
        "to-tag: the colleague's tag, from-tag: ours ({refer_to})"
    );

    let progress: Vec<String> = cli
        .events_named("transfer")
        .iter()
        .map(|e| e["progress"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        progress.last().map(String::as_str),
        Some("connected"),
        "{progress:?}\n{out}"
    );
    let ended = cli.events_named("ended");
    assert_eq!(ended.len(), 2, "{out}");
    assert!(
        ended.iter().all(|e| e["reason"] == "transferred"),
        "{ended:?}"
    );
    let lists = cli.events_named("calls");
    assert!(
        lists
            .last()
            .and_then(|l| l["calls"].as_array())
            .is_some_and(|c| c.is_empty()),
        "no calls left: {out}"
    );
    assert!(cli.events_named("error").is_empty(), "{out}");
}
