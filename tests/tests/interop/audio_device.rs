//! The CLI's real audio device path: with a private PulseAudio daemon whose default sink is a
//! null sink, `--audio-out default` (ALSA `default` → PulseAudio via libasound2-plugins) must
//! play the received speech into the sink; the sink's monitor is recorded with `parecord` and
//! checked for speech (level, energy in the speech band, loose PESQ floor).

use hookflash_tests::baresip::Codec;
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::pulse::Pulse;
use hookflash_tests::{ports, speech, wav, Baresip, Cli, Kamailio, TestDir};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Checks a monitor recording holds speech: not silent and mostly 200–4000 Hz energy.
fn assert_speech(rec: &Path) -> f32 {
    let (samples, rate) = wav::read_mono(rec);
    assert!(
        samples.len() > rate as usize,
        "recording {} shorter than 1 s",
        rec.display()
    );
    let level = wav::rms(&samples);
    // Find the loudest second and check its spectrum.
    let sec = rate as usize;
    let loudest = samples
        .chunks(sec)
        .max_by(|a, b| wav::rms(a).total_cmp(&wav::rms(b)))
        .expect("at least one second");
    let fraction = wav::band_energy_fraction(loudest, rate, 200.0, 4000.0);
    eprintln!(
        "{}: RMS {level:.4}, speech-band energy {fraction:.2}",
        rec.display()
    );
    assert!(
        level > 0.003,
        "recording of the null sink is silent (RMS {level:.5})"
    );
    assert!(
        fraction > 0.6,
        "only {fraction:.2} of the energy is in 200-4000 Hz"
    );
    level
}

/// Harness check (no CLI): ALSA `default` reaches the private PulseAudio null sink and its
/// monitor recording scores well against the played speech.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn harness_alsa_default_reaches_pulse_null_sink() {
    let dir = TestDir::new("harness_alsa_default_reaches_pulse_null_sink");
    // A second of silence first: PulseAudio drops the start of a stream into an idle sink.
    let lead = dir.join("lead.wav");
    let lead_s = lead.to_str().unwrap();
    speech::sox(&[
        "-n", "-r", "48000", "-c", "1", "-b", "16", lead_s, "trim", "0", "1",
    ]);
    let plain = speech::reference(dir.path());
    let speech = dir.join("played.wav");
    speech::sox(&[lead_s, plain.to_str().unwrap(), speech.to_str().unwrap()]);
    let pulse = Pulse::start(&dir);
    let rec = dir.join("monitor.wav");
    let mut parecord = pulse.record_monitor(&dir, &rec, 16000);
    std::thread::sleep(Duration::from_millis(500));
    let mut aplay = Command::new("aplay");
    aplay.args(["-q", "-D", "default"]).arg(&speech);
    for (k, v) in pulse.env() {
        aplay.env(k, v);
    }
    let out = aplay
        .output()
        .expect("run aplay (apt-get install alsa-utils)");
    assert!(
        out.status.success(),
        "aplay -D default failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // PulseAudio still holds the tail of the stream in its buffers when aplay returns.
    std::thread::sleep(Duration::from_millis(2000));
    parecord.signal(libc::SIGINT);
    parecord.wait_timeout(Duration::from_secs(3));
    assert_speech(&rec);
    let mos = pesq::score(&speech, &rec, Band::Wide);
    eprintln!("REFERENCE aplay -> PulseAudio null sink -> parecord: PESQ WB {mos:.3}");
    assert!(
        mos >= 3.0,
        "PESQ of the ALSA->PulseAudio path {mos:.3} < 3.0"
    );
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn cli_plays_received_audio_on_default_device() {
    let dir = TestDir::new("cli_plays_received_audio_on_default_device");
    let speech = speech::reference(dir.path());
    // bob says nothing for the first 3 s: opening the device and PulseAudio starting an idle
    // sink take a moment, and this test is about steady playback, not the first syllable.
    let lead = dir.join("lead.wav");
    speech::sox(&[
        "-n",
        "-r",
        "48000",
        "-c",
        "1",
        "-b",
        "16",
        lead.to_str().unwrap(),
        "trim",
        "0",
        "3",
    ]);
    let bob_says = dir.join("bob-says.wav");
    speech::sox(&[
        lead.to_str().unwrap(),
        speech.to_str().unwrap(),
        bob_says.to_str().unwrap(),
    ]);
    let pulse = Pulse::start(&dir);
    let kam = Kamailio::builder()
        .user("alice", "alice-secret")
        .user("bob", "bob-secret")
        .start(&dir);
    let _bob = Baresip::builder("bob", "bob-secret")
        .registrar(kam.port)
        .codec(Codec::Pcmu)
        .source(&bob_says, 3.0)
        .start(&dir);
    assert!(
        kam.wait_registered("bob", Duration::from_secs(10)),
        "baresip bob did not register"
    );
    let rec = dir.join("monitor.wav");
    let mut parecord = pulse.record_monitor(&dir, &rec, 16000);
    let mut cli = Cli::new("cli", "call")
        .arg("sip:bob@127.0.0.1")
        .args([
            "--aor",
            "sip:alice@127.0.0.1",
            "--registrar",
            &kam.registrar_uri("udp"),
        ])
        .args(["--listen", &format!("127.0.0.1:{}", ports::free_port())])
        .args([
            "--codec",
            "pcmu",
            "--audio-in",
            "null",
            "--audio-out",
            "default",
            "--duration",
            "11",
        ])
        .password("alice-secret");
    for (k, v) in pulse.env() {
        cli = cli.env(&k, &v);
    }
    let mut cli = cli.spawn(&dir);
    cli.expect_event("answered", Duration::from_secs(15));
    cli.wait_exit(Duration::from_secs(25));
    cli.assert_success();
    // Nothing was unplugged: a device warning here means a healthy stream was taken for a lost
    // one (PulseAudio's start-up pause and its transient I/O errors once were) and reopened.
    let warnings = cli.events_named("warning");
    assert!(
        warnings.is_empty(),
        "device warnings while nothing was unplugged: {warnings:?}"
    );
    std::thread::sleep(Duration::from_millis(2000));
    parecord.signal(libc::SIGINT);
    parecord.wait_timeout(Duration::from_secs(3));
    assert_speech(&rec);
    // Ringback (440 + 480 Hz) may sound before bob answers (he auto-answers at once), not in
    // the call.
    let (samples, rate) = wav::read_mono(&rec);
    let ringback = wav::dual_tone_secs(&samples, rate, 440.0, 480.0);
    eprintln!("ringback tone in the device output: {ringback:.1} s");
    assert!(
        ringback <= 0.5,
        "{ringback:.1} s of 440+480 Hz ringback tone in the device output of an auto-answered call"
    );
    // Loose floor: G.711 then device resampling and PulseAudio timing.
    let mos = pesq::score(&speech, &rec, Band::Narrow);
    assert!(
        mos >= 2.5,
        "PESQ NB of what the CLI played on the default device: {mos:.3} < 2.5"
    );
}

/// Mean Goertzel share of `freq` in the windows of `x` (0..1: 1 is a pure tone).
fn tone_share(x: &[f32], rate: u32, freq: f32) -> f64 {
    let n = rate as usize / 10;
    let mut shares = Vec::new();
    for w in x.chunks_exact(n) {
        let energy: f64 = w.iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
        if energy > 0.0 {
            shares.push(wav::goertzel_power(w, rate, freq) / (energy * n as f64 / 2.0));
        } else {
            shares.push(0.0);
        }
    }
    shares.iter().sum::<f64>() / shares.len().max(1) as f64
}

/// A chosen speaker unplugged mid-call: PulseAudio null sink `usb` ("USB Headset") is the CLI's
/// `--audio-out`; `spk` is the default. Unloading `usb`'s module mid-call must leave the call
/// up, produce a warning event naming the device, and move the far end's tone to the default
/// sink; loading it again brings the speaker back ("is back" warning). PulseAudio itself moves
/// the stream of a removed sink to the default without telling the client: the engine sees the
/// device leave the list.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn unplugged_speaker_falls_back_to_the_default_output() {
    let dir = TestDir::new("unplugged_speaker_falls_back_to_the_default_output");
    let tone = dir.join("tone.wav");
    speech::sox(&[
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        tone.to_str().unwrap(),
        "synth",
        "14",
        "sine",
        "1000",
        "vol",
        "0.3",
    ]);
    let pulse = Pulse::start(&dir);
    let usb_module = pulse.load_null_sink("usb", "USB Headset");
    let kam = Kamailio::builder()
        .user("alice", "alice-secret")
        .user("bob", "bob-secret")
        .start(&dir);
    let _bob = Baresip::builder("bob", "bob-secret")
        .registrar(kam.port)
        .codec(Codec::Pcmu)
        .source(&tone, 3.0)
        .start(&dir);
    assert!(
        kam.wait_registered("bob", Duration::from_secs(10)),
        "baresip bob did not register"
    );
    // `hookflash-cli devices` names the server's sinks, the default marked.
    let mut devices = Cli::new("devices", "devices");
    for (k, v) in pulse.env() {
        devices = devices.env(&k, &v);
    }
    let mut devices = devices.run(&dir, Duration::from_secs(20));
    devices.assert_success();
    let listed = devices.events_named("device");
    let has = |id: &str, name: &str, default: bool| {
        listed.iter().any(|d| {
            d["direction"] == "output"
                && d["id"] == id
                && d["name"] == name
                && d["default"] == default
        })
    };
    assert!(
        has("usb", "USB Headset", false) && has("spk", "Null Output", true),
        "devices: {listed:?}"
    );
    let rec_default = dir.join("default-sink.wav");
    let rec_usb = dir.join("usb-sink.wav");
    let mut parec_default = pulse.record_sink_monitor(&dir, "spk", &rec_default, 16000);
    let mut parec_usb = pulse.record_sink_monitor(&dir, "usb", &rec_usb, 16000);
    let mut cli = Cli::new("cli", "call")
        .arg("sip:bob@127.0.0.1")
        .args([
            "--aor",
            "sip:alice@127.0.0.1",
            "--registrar",
            &kam.registrar_uri("udp"),
        ])
        .args(["--listen", &format!("127.0.0.1:{}", ports::free_port())])
        .args([
            "--codec",
            "pcmu",
            "--audio-in",
            "null",
            "--audio-out",
            "usb",
            "--duration",
            "13",
        ])
        .password("alice-secret");
    for (k, v) in pulse.env() {
        cli = cli.env(&k, &v);
    }
    let mut cli = cli.spawn(&dir);
    cli.expect_event("answered", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(3));
    // Nothing unplugged yet: no warning may have come (one did, when PulseAudio's start-up
    // pause was taken for a lost device, and made this test pass for the wrong reason).
    let early = cli.events_named("warning");
    assert!(
        early.is_empty(),
        "device warnings before anything was unplugged: {early:?}"
    );
    let unplugged = std::time::Instant::now();
    pulse.unload_module(usb_module);
    let warning = cli.expect_event("warning", Duration::from_secs(5));
    let message = warning["message"].as_str().unwrap_or_default().to_string();
    eprintln!(
        "warning {:.1} s after unplugging: {message}",
        unplugged.elapsed().as_secs_f32()
    );
    assert!(
        message.contains("'USB Headset' disconnected") && message.contains("default output"),
        "warning: {warning}"
    );
    // Plugged in again: the speaker comes back to it.
    std::thread::sleep(Duration::from_secs(2));
    let replugged = std::time::Instant::now();
    pulse.load_null_sink("usb", "USB Headset");
    let back = wait_for_warning(&cli, "is back", Duration::from_secs(6));
    eprintln!(
        "warning {:.1} s after plugging in again: {back}",
        replugged.elapsed().as_secs_f32()
    );
    assert!(back.contains("speaker 'USB Headset' is back"), "{back}");
    cli.wait_exit(Duration::from_secs(25));
    cli.assert_success();
    let ended = cli.expect_event("ended", Duration::from_secs(1));
    assert_eq!(
        ended["reason"], "local_hangup",
        "the call ran to its --duration: {ended}"
    );
    std::thread::sleep(Duration::from_millis(1000));
    parec_default.signal(libc::SIGINT);
    parec_default.wait_timeout(Duration::from_secs(3));
    parec_usb.signal(libc::SIGINT);
    parec_usb.wait_timeout(Duration::from_secs(3));

    // Before the unplug the tone played on the chosen sink; after it, on the default.
    let (usb, rate) = wav::read_mono(&rec_usb);
    let usb_level = wav::rms(&usb);
    let (default, rate_d) = wav::read_mono(&rec_default);
    let loud: Vec<f32> = default
        .chunks(rate_d as usize / 10)
        .filter(|w| wav::rms(w) > 0.01)
        .flatten()
        .copied()
        .collect();
    let loud_secs = loud.len() as f32 / rate_d as f32;
    let share = tone_share(&loud, rate_d, 1000.0);
    eprintln!(
        "chosen sink: {:.1} s at RMS {usb_level:.4}, 1 kHz share {:.2}; default sink: {loud_secs:.1} s of sound, 1 kHz share {share:.2}",
        usb.len() as f32 / rate as f32,
        tone_share(&usb, rate, 1000.0)
    );
    assert!(
        usb_level > 0.01,
        "the chosen sink got no audio before the unplug"
    );
    assert!(
        loud_secs > 2.0,
        "only {loud_secs:.1} s of audio reached the default sink after the unplug"
    );
    assert!(
        share > 0.8,
        "what reached the default sink is not the far end's 1 kHz tone (share {share:.2})"
    );
}

/// A chosen microphone unplugged mid-call: the CLI captures from `usb.monitor` (the monitor of
/// null sink `usb`, "Monitor of USB Headset") while a 1 kHz tone plays into `usb`, and a 600 Hz
/// tone plays into the default sink `spk`, whose monitor is the default source. Unloading `usb`
/// mid-call must leave the call up, warn, and switch what baresip receives from 1 kHz to 600 Hz.
/// Voice processing is off in the profile: noise suppression would take steady tones for noise.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn unplugged_microphone_falls_back_to_the_default_input() {
    let dir = TestDir::new("unplugged_microphone_falls_back_to_the_default_input");
    let tone = |name: &str, hz: u32| {
        let path = dir.join(name);
        speech::sox(&[
            "-n",
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "16",
            path.to_str().unwrap(),
            "synth",
            "30",
            "sine",
            &hz.to_string(),
            "vol",
            "0.3",
        ]);
        path
    };
    let (chosen_tone, default_tone) = (tone("usb-1000.wav", 1000), tone("spk-600.wav", 600));
    let pulse = Pulse::start(&dir);
    let usb_module = pulse.load_null_sink("usb", "USB Headset");
    pulse
        .pactl(&["set-default-source", "spk.monitor"])
        .expect("set the default source");
    let mut usb_player = pulse.play_into(&dir, "usb", &chosen_tone);
    let _spk_player = pulse.play_into(&dir, "spk", &default_tone);
    let kam = Kamailio::builder()
        .user("alice", "alice-secret")
        .user("bob", "bob-secret")
        .start(&dir);
    let mut bob = Baresip::builder("bob", "bob-secret")
        .registrar(kam.port)
        .codec(Codec::Pcmu)
        .start(&dir);
    assert!(
        kam.wait_registered("bob", Duration::from_secs(10)),
        "baresip bob did not register"
    );
    let profile = dir.write(
        "mic-profile.toml",
        "[account]\naor = \"sip:alice@127.0.0.1\"\n\n[voice_processing]\necho_cancellation = false\nnoise_suppression = false\ngain_control = false\n",
    );
    let mut cli = Cli::new("cli", "call")
        .arg("sip:bob@127.0.0.1")
        .arg("--profile")
        .arg(&profile)
        .args(["--registrar", &kam.registrar_uri("udp")])
        .args(["--listen", &format!("127.0.0.1:{}", ports::free_port())])
        .args([
            "--codec",
            "pcmu",
            "--audio-in",
            "usb.monitor",
            "--audio-out",
            "null",
            "--duration",
            "10",
        ])
        .password("alice-secret");
    for (k, v) in pulse.env() {
        cli = cli.env(&k, &v);
    }
    let mut cli = cli.spawn(&dir);
    cli.expect_event("answered", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(4));
    let early = cli.events_named("warning");
    assert!(
        early.is_empty(),
        "device warnings before anything was unplugged: {early:?}"
    );
    // Stop the player first: PulseAudio would move its stream to the default sink as well.
    usb_player.stop();
    let unplugged = std::time::Instant::now();
    pulse.unload_module(usb_module);
    let message = wait_for_warning(&cli, "disconnected", Duration::from_secs(5));
    eprintln!(
        "warning {:.1} s after unplugging: {message}",
        unplugged.elapsed().as_secs_f32()
    );
    assert_eq!(
        message,
        "microphone 'Monitor of USB Headset' disconnected; now using the default input"
    );
    cli.wait_exit(Duration::from_secs(25));
    cli.assert_success();
    bob.stop();
    let received = bob.received_wav().expect("baresip's recording of the call");
    let (samples, rate) = wav::read_mono(&received);
    // Which tone each 100 ms of what bob heard is (silence and mixtures are neither).
    let windows: Vec<(usize, f64, f64)> = samples
        .chunks_exact(rate as usize / 10)
        .enumerate()
        .filter(|(_, w)| wav::rms(w) > 0.01)
        .map(|(i, w)| (i, tone_share(w, rate, 1000.0), tone_share(w, rate, 600.0)))
        .collect();
    let chosen: Vec<usize> = windows.iter().filter(|w| w.1 > 0.8).map(|w| w.0).collect();
    let default: Vec<usize> = windows.iter().filter(|w| w.2 > 0.8).map(|w| w.0).collect();
    eprintln!(
        "bob heard {:.1} s of the chosen microphone's 1 kHz, then {:.1} s of the default's 600 Hz",
        chosen.len() as f32 / 10.0,
        default.len() as f32 / 10.0
    );
    assert!(
        chosen.len() >= 20,
        "only {:.1} s of the chosen microphone reached bob",
        chosen.len() as f32 / 10.0
    );
    assert!(
        default.len() >= 20,
        "only {:.1} s of the default microphone reached bob after the unplug",
        default.len() as f32 / 10.0
    );
    let last_chosen = *chosen.last().unwrap();
    let first_default = default[0];
    assert!(first_default > last_chosen, "the default input was heard (from {first_default}) before the chosen one ended ({last_chosen})");
}

/// Waits for a warning event whose message contains `needle`; returns the message.
fn wait_for_warning(cli: &hookflash_tests::CliRun, needle: &str, timeout: Duration) -> String {
    let found = hookflash_tests::wait_until(timeout, || {
        cli.events_named("warning")
            .iter()
            .filter_map(|w| w["message"].as_str())
            .find(|m| m.contains(needle))
            .map(str::to_string)
    });
    found.unwrap_or_else(|| {
        panic!(
            "no warning with '{needle}' within {timeout:?}: {:?}",
            cli.events_named("warning")
        )
    })
}
