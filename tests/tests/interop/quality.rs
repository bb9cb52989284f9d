//! Speech quality through the impairment relay, fast enough for CI: two Hookflash media
//! engines on loopback, 10 % random loss on the speech direction, PESQ of what the receiver
//! played against the reference speech (NB for G.711, WB for Opus). The floors are loose
//! (well under what the engine measures) so the test catches breakage, not a bad day; the full
//! comparison with references is `cargo xtask bench`.

use std::time::Duration;

use hookflash_media::Codec;
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::relay::loopback_call::{self, LoopbackCall};
use hookflash_tests::relay::{Impairment, LossModel};
use hookflash_tests::{speech, TestDir};

const SEED: u64 = 2026;
const LOSS: f64 = 0.10;

fn quality_at_ten_percent_loss(name: &str, codec: Codec, band: Band, floor: f64) {
    let dir = TestDir::new(name);
    let reference = speech::reference(dir.path());
    let talk = Duration::from_secs_f64(speech::duration_secs(&reference) + 0.6);
    let call = LoopbackCall {
        codec,
        impairment: Impairment::with_loss(LossModel::Random { rate: LOSS }),
        seed: SEED,
        input: reference.clone(),
        output: dir.join("received.wav"),
        talk,
    };
    let run = loopback_call::run(&call).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("relay: {:?}\nreceiver: {:?}", run.relay, run.receiver);
    let r = run.relay.to_right;
    assert!(r.received >= 300, "the relay saw only {} packets of a {talk:?} call", r.received);
    let share = r.dropped as f64 / r.received as f64;
    assert!((0.05..0.15).contains(&share), "the relay dropped {share:.3} of the packets, not ~{LOSS}");
    assert!(run.receiver.concealed_frames > 0, "lost packets must be concealed: {:?}", run.receiver);
    let score = pesq::score(&reference, &call.output, band);
    assert!(score >= floor, "{codec:?} PESQ {score:.2} at {}% loss is below the floor {floor}", LOSS * 100.0);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn pcmu_speech_survives_ten_percent_loss() {
    quality_at_ten_percent_loss("quality-pcmu", Codec::Pcmu, Band::Narrow, 2.0);
}

#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn opus_speech_survives_ten_percent_loss() {
    quality_at_ten_percent_loss("quality-opus", Codec::Opus, Band::Wide, 2.5);
}
