//! Per-call outbound caller ID against sipp: `hookflash-cli call --caller-id` presents a number
//! from the profile's allowed list as P-Preferred-Identity and the profile's own header, on the
//! first INVITE and on its authenticated retry (tests/sipp/caller_id_uas.xml checks both); a
//! number not on the list is refused before anything is sent.

use hookflash_tests::sipp::Sipp;
use hookflash_tests::{ports, Cli, TestDir};
use std::time::Duration;

const PW: &str = "alice-secret";

/// A profile for alice@127.0.0.1 with two allowed caller IDs, P-Preferred-Identity on and an
/// extra `X-Outbound-CLI` header.
fn profile(dir: &TestDir) -> std::path::PathBuf {
    dir.write(
        "caller-id-profile.toml",
        r#"[account]
aor = "sip:alice@127.0.0.1"
register = false

[dialling]
default_country = "GB"
caller_ids = [
  { number = "+442079460958", name = "Acme Sales" },
  { number = "2001" },
]
p_preferred_identity = true
caller_id_header = { name = "X-Outbound-CLI", value = "{number}" }
"#,
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

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn chosen_caller_id_is_sent_as_p_preferred_identity_and_the_configured_header() {
    let dir = TestDir::new("caller_id_sent");
    let sipp = Sipp::uas("caller_id_uas.xml")
        .set("username", "alice")
        .set("password", PW);
    let mut run = sipp.spawn(&dir);
    assert!(
        wait_bound(sipp.port),
        "sipp did not bind 127.0.0.1:{}",
        sipp.port
    );
    let profile = profile(&dir);
    let mut cli = Cli::new("cli", "call")
        .arg(format!("sip:bob@{}", sipp.addr()))
        .arg("--profile")
        .arg(&profile)
        .args([
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args([
            "--audio-in",
            "null",
            "--audio-out",
            "null",
            "--duration",
            "1",
        ])
        // Written the national way: it normalises to the allowed +442079460958.
        .args(["--caller-id", "020 7946 0958"])
        .password(PW)
        .spawn(&dir);
    cli.wait_exit(Duration::from_secs(20));
    run.assert_passed(Duration::from_secs(20));
    cli.assert_success();
    let msgs = run.messages();
    let invites = msgs.matches("INVITE sip:bob@").count();
    assert!(
        invites >= 2,
        "expected the INVITE and its authenticated retry, saw {invites}\n{msgs}"
    );
    let ppi = "P-Preferred-Identity: \"Acme Sales\" <sip:+442079460958@127.0.0.1;user=phone>";
    assert!(
        msgs.matches(ppi).count() >= 2,
        "{ppi} missing from an INVITE:\n{msgs}"
    );
    assert!(
        msgs.matches("X-Outbound-CLI: +442079460958").count() >= 2,
        "X-Outbound-CLI missing:\n{msgs}"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn caller_id_not_in_the_allowed_list_is_refused_before_sending() {
    let dir = TestDir::new("caller_id_refused");
    // Stands where the callee would be: nothing may arrive.
    let callee = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    callee
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let profile = profile(&dir);
    let mut cli = Cli::new("cli", "call")
        .arg(format!("sip:bob@{}", callee.local_addr().unwrap()))
        .arg("--profile")
        .arg(&profile)
        .args([
            "--no-register",
            "--listen",
            &format!("127.0.0.1:{}", ports::free_port()),
        ])
        .args([
            "--audio-in",
            "null",
            "--audio-out",
            "null",
            "--duration",
            "1",
        ])
        .args(["--caller-id", "+441234567890"])
        .run(&dir, Duration::from_secs(15));
    let line = cli.assert_failed_with(
        "caller ID +441234567890 is not in this account's allowed list (+442079460958, 2001)",
    );
    assert_eq!(
        line,
        "hookflash-cli: caller ID +441234567890 is not in this account's allowed list (+442079460958, 2001)"
    );
    let mut buf = [0u8; 2048];
    if let Ok(n) = callee.recv(&mut buf) {
        panic!(
            "a request went out despite the refusal:\n{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    assert!(cli.events_named("calling").is_empty(), "{}", cli.stdout());
}
