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
    assert!(
        r.received >= 300,
        "the relay saw only {} packets of a {talk:?} call",
        r.received
    );
    let share = r.dropped as f64 / r.received as f64;
    assert!(
        (0.05..0.15).contains(&share),
        "the relay dropped {share:.3} of the packets, not ~{LOSS}"
    );
    assert!(
        run.receiver.concealed_frames > 0,
        "lost packets must be concealed: {:?}",
        run.receiver
    );
    let score = pesq::score(&reference, &call.output, band);
    assert!(
        score >= floor,
        "{codec:?} PESQ {score:.2} at {}% loss is below the floor {floor}",
        LOSS * 100.0
    );
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

/// Opus from a phone that adds no FEC (baresip's default) at 10 % loss: baresip calls baresip
/// through the relay, which keeps the packets alice sent; the same packets are replayed through
/// a relay with the same loss and seed into our engine, so both receivers lose the same ones.
/// The floors are loose (on the bench's seeds our engine scores 2.05-2.47 and baresip
/// 2.27-2.46: a tie, PESQ varying with where the losses fall); the bench holds the target
/// (baresip + 0.5) and the figures.
#[test]
#[ignore = "needs real peers: run by cargo xtask test"]
fn opus_from_a_sender_without_fec_survives_ten_percent_loss() {
    use hookflash_media::opus_codec::packet_has_fec;
    use hookflash_tests::baresip::Codec as BaresipCodec;
    use hookflash_tests::baresip_relay_call;
    use hookflash_tests::relay::replay_receive::{self, ReplayReceive};

    let dir = TestDir::new("quality-opus-no-sender-fec");
    let reference = speech::reference(dir.path());
    let loss = LossModel::Random { rate: LOSS };
    let b = baresip_relay_call::call(
        &dir,
        "baresip",
        BaresipCodec::Opus,
        &reference,
        Impairment::with_loss(loss.clone()),
        SEED,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rtp = replay_receive::rtp_packets(&b.sent);
    let fec = rtp.iter().filter(|p| packet_has_fec(&p.payload)).count();
    assert!(
        rtp.len() >= 250,
        "the relay kept only {} RTP packets of baresip's call",
        rtp.len()
    );
    assert_eq!(
        fec, 0,
        "baresip's packets carry FEC: this test is about a sender without it"
    );
    let output = dir.join("ours.wav");
    let run = replay_receive::run(&ReplayReceive {
        datagrams: b.sent.clone(),
        codec: Codec::Opus,
        clock_rate: 48_000,
        impairment: Impairment::with_loss(loss),
        seed: SEED,
        output: output.clone(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("replay: {:?}\nreceiver: {:?}", run.relay, run.receiver);
    let r = run.relay.to_right;
    assert_eq!(
        r.received as usize,
        b.sent.len(),
        "every captured datagram went through the replay relay"
    );
    assert_eq!(
        r.dropped, b.relay.to_right.dropped,
        "the replay lost exactly the packets baresip lost"
    );
    assert!(
        (0.05..0.15).contains(&(r.dropped as f64 / r.received as f64)),
        "dropped {} of {}",
        r.dropped,
        r.received
    );
    assert!(
        run.receiver.concealed_frames > 0,
        "lost packets must be concealed: {:?}",
        run.receiver
    );
    let ours = pesq::score(&reference, &output, Band::Wide);
    let theirs = pesq::score(&reference, &b.received, Band::Wide);
    eprintln!("Opus without sender FEC, 10 % loss: ours {ours:.2}, baresip {theirs:.2} (same packets lost)");
    assert!(
        ours >= 1.8,
        "PESQ-WB {ours:.2} of what we played is below the floor 1.8"
    );
    assert!(
        ours >= theirs - 0.5,
        "we conceal far worse than baresip on the same packets: {ours:.2} vs {theirs:.2}"
    );
}
