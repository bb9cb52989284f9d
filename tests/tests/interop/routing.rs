//! The routing-rule matrix against sipp: direct vs queue call × idle vs busy × do-not-disturb ×
//! inside/outside business hours, each with the SIP response the phone's rules produce
//! (`hookflash-cli session` with a profile's `[routing]`, sipp `route_probe.xml` as the caller).
//! Also: a malformed rule in the profile is refused at load with a message naming the rule.
//!
//! Expected (presets and the seeds' defaults, docs/routing.md): DND on → 486; outside business
//! hours → 603; a queue call while another call is up → 486; everything else rings (180).

use hookflash_tests::sipp::Sipp;
use hookflash_tests::{ports, Cli, CliRun, TestDir};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A weekday that is not today in UTC (1970-01-01 was a Thursday): a business-hours window
/// on it is closed now, whatever the time of day.
fn not_today_utc() -> &'static str {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let today = ((days + 3) % 7) as usize; // 0 = Monday
    WEEKDAYS[(today + 3) % 7]
}

fn profile(dir: &TestDir, name: &str, port: u16, dnd: bool, closed: bool) -> PathBuf {
    let hours = if closed {
        format!("{} 00:00-24:00", not_today_utc())
    } else {
        "daily 00:00-24:00".to_string()
    };
    dir.write(
        &format!("{name}.toml"),
        format!(
            "[account]\naor = \"sip:alice@127.0.0.1\"\nregister = false\nlisten = \"127.0.0.1:{port}\"\n\
             [routing]\nutc_offset = \"+00:00\"\n\
             [routing.classify]\nqueues = [\"sales\"]\n\
             [routing.presets.do_not_disturb]\nenabled = {dnd}\n\
             [routing.presets.business_hours]\nenabled = true\nhours = [\"{hours}\"]\noutside = \"reject_decline\"\n"
        ),
    )
}

fn wait_bound(port: u16) -> bool {
    hookflash_tests::wait_until(Duration::from_secs(10), || {
        std::net::UdpSocket::bind(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .is_some()
}

/// A session with `profile`; busy: first a call out to a sipp UAS that stays up.
fn session(
    dir: &TestDir,
    name: &str,
    profile: &PathBuf,
    port: u16,
    busy_with: Option<SocketAddr>,
) -> CliRun {
    let mut script = String::new();
    if let Some(uas) = busy_with {
        script.push_str(&format!("dial sip:bob@{uas}\nwait-calls 1 10\n"));
    }
    script.push_str("wait 25\n");
    let script = dir.write(&format!("{name}.script"), script);
    let mut cli = Cli::new(name, "session")
        .arg("--profile")
        .arg(profile)
        .args(["--audio-in", "null", "--audio-out", "null", "--script"])
        .arg(&script)
        .spawn(dir);
    if !wait_bound(port) {
        cli.stop();
        panic!(
            "hookflash-cli session did not bind 127.0.0.1:{port}\n{}",
            cli.stderr()
        );
    }
    cli
}

/// One probe call to `user`; returns the SIP status the phone answered with (180 for ringing)
/// and the routing summary it reported.
fn probe(dir: &TestDir, cli: &CliRun, port: u16, user: &str) -> (u16, String) {
    let before = cli.events().len();
    Sipp::uac("route_probe.xml", ([127, 0, 0, 1], port).into())
        .service(user)
        .timeout(15)
        .spawn(dir)
        .assert_passed(Duration::from_secs(20));
    // The probe's call: incoming (rang) or ended (refused by a rule before ringing).
    let found = hookflash_tests::wait_until(Duration::from_secs(5), || {
        let events: Vec<Value> = cli.events().into_iter().skip(before).collect();
        let incoming = events
            .iter()
            .find(|e| e["event"] == "incoming" && e["routing"].is_string());
        let ended = events
            .iter()
            .find(|e| e["event"] == "ended" && e["routing"].is_string());
        match (incoming, ended) {
            (Some(i), _) => Some((180, i["routing"].as_str().unwrap().to_string())),
            (None, Some(e)) => Some((
                e["status"].as_u64().unwrap_or(0) as u16,
                e["routing"].as_str().unwrap().to_string(),
            )),
            _ => None,
        }
    });
    found.unwrap_or_else(|| {
        panic!(
            "no incoming/ended event with routing for the probe to {user}\n{}",
            cli.stdout()
        )
    })
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn routing_matrix_against_sipp() {
    let dir = TestDir::new("routing_matrix");
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for dnd in [false, true] {
        for closed in [false, true] {
            for busy in [false, true] {
                let name = format!(
                    "dnd{}-{}-{}",
                    dnd as u8,
                    if closed { "closed" } else { "open" },
                    if busy { "busy" } else { "idle" }
                );
                let port = ports::free_port();
                let profile = profile(&dir, &name, port, dnd, closed);
                // The call that makes us busy: sipp answers and waits for our BYE.
                let mut uas = busy.then(|| {
                    let s = Sipp::uas("uas_basic.xml").timeout(40);
                    let addr = s.addr();
                    (s.spawn(&dir), addr)
                });
                let mut cli = session(&dir, &name, &profile, port, uas.as_ref().map(|(_, a)| *a));
                if busy {
                    cli.expect_event("answered", Duration::from_secs(10));
                }
                for (kind, user) in [("direct", "alice"), ("queue", "sales")] {
                    let expected = if dnd {
                        486
                    } else if closed {
                        603
                    } else if busy && kind == "queue" {
                        486
                    } else {
                        180
                    };
                    let (got, rule) = probe(&dir, &cli, port, user);
                    table.push(format!(
                        "{name:<22} {kind:<6} → {got} (expected {expected}) by {rule}"
                    ));
                    if got != expected {
                        failures.push(format!(
                            "{name} {kind}: got {got}, expected {expected}; {rule}"
                        ));
                    }
                }
                cli.stop();
                if let Some((run, _)) = uas.as_mut() {
                    run.process().stop();
                }
            }
        }
    }
    eprintln!("ROUTING MATRIX\n{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "routing decisions differ:\n{}",
        failures.join("\n")
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_malformed_rule_is_refused_at_load_naming_the_rule() {
    let dir = TestDir::new("routing_malformed_rule");
    let profile = dir.write(
        "bad.toml",
        "[account]\naor = \"sip:alice@127.0.0.1\"\nregister = false\n[routing]\nrules = [\"when true then ring\", \"when parkd_count > 0 then reject_busy\"]\n",
    );
    let mut cli = Cli::new("cli", "listen")
        .arg("--profile")
        .arg(&profile)
        .args(["--audio-in", "null", "--audio-out", "null"])
        .spawn(&dir);
    cli.wait_exit(Duration::from_secs(10));
    let err = cli.assert_failed_with("rule 2");
    assert!(
        err.contains("parkd_count") && err.contains("parked_count"),
        "{err}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn a_user_rule_forwards_queue_calls_with_302() {
    let dir = TestDir::new("routing_forward_rule");
    let port = ports::free_port();
    let profile = dir.write(
        "forward.toml",
        format!(
            "[account]\naor = \"sip:alice@127.0.0.1\"\nregister = false\nlisten = \"127.0.0.1:{port}\"\n\
             [routing]\nrules = [\"when is_queue && caller == '100' then forward(\\\"sip:voicemail@127.0.0.1\\\")\"]\n\
             [routing.classify]\nqueues = [\"sales\"]\n"
        ),
    );
    let mut cli = session(&dir, "forward", &profile, port, None);
    let (status, rule) = probe(&dir, &cli, port, "sales");
    assert_eq!(status, 302, "{rule}");
    assert!(rule.contains("rule 1"), "{rule}");
    let messages =
        std::fs::read_to_string(dir.join("sipp-route_probe.messages.log")).unwrap_or_default();
    assert!(
        messages.contains("SIP/2.0 302") && messages.contains("Contact: <sip:voicemail@127.0.0.1>"),
        "the 302 should carry the target as Contact:\n{messages}"
    );
    // A direct call is not forwarded by that rule.
    let (status, _) = probe(&dir, &cli, port, "alice");
    assert_eq!(status, 180);
    cli.stop();
}
