//! One stream, two receivers: a baresip ↔ baresip call through the impairment relay (bob's
//! recording is baresip's figure; the relay keeps alice's datagrams as sent), then the same
//! datagrams replayed through a relay with the same impairment and seed into one of our media
//! sessions. Every packet meets the same fate on both paths, so the two recordings differ only
//! in what each receiver makes of the same lost packets — where the losses fall in the speech
//! moves a short clip's PESQ far more than any concealment does (the bench's 8 % burst pattern
//! shifted by a few packets: 2.1 to 3.6 with the same decoder), so comparing two calls that
//! started at different moments measures luck.

use std::path::Path;

use hookflash_media::Codec;
use hookflash_tests::baresip::Codec as BaresipCodec;
use hookflash_tests::baresip_relay_call as baresip_call;
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::relay::replay_receive::{self, ReplayReceive};
use hookflash_tests::relay::{loss_pattern, Impairment, LossModel};
use hookflash_tests::TestDir;

/// What both receivers made of one stream.
pub struct SamePackets {
    /// PESQ of baresip's recording (its decoder's output, `sndfile`'s dump) and of ours.
    pub baresip: f64,
    pub ours: f64,
    /// The audio payloads with their relay packet index (the loss pattern's index).
    pub payloads: Vec<(usize, Vec<u8>)>,
    /// The relay's loss decisions, by packet index (`true` = lost).
    pub pattern: Vec<bool>,
}

pub fn score(reference: &Path, degraded: &Path, band: Band) -> Result<f64, String> {
    let s = pesq::try_score(reference, degraded, band);
    eprintln!(
        "  PESQ {band:?} {} = {s:?}",
        degraded.file_name().and_then(|n| n.to_str()).unwrap_or("?")
    );
    s
}

/// Runs both receivers on one baresip stream of `codec` under `loss` with `seed`; `slug`
/// names the files. Our recording is `<slug>-ours.wav`.
pub fn receive(
    dir: &TestDir,
    speech48: &Path,
    codec: Codec,
    loss: &LossModel,
    seed: u64,
    slug: &str,
) -> Result<SamePackets, String> {
    let (bcodec, band, clock_rate) = match codec {
        Codec::Opus => (BaresipCodec::Opus, Band::Wide, 48_000),
        Codec::Pcmu => (BaresipCodec::Pcmu, Band::Narrow, 8000),
        other => return Err(format!("no baresip stream of {other:?} in the bench")),
    };
    let b = baresip_call::call(
        dir,
        slug,
        bcodec,
        speech48,
        Impairment::with_loss(loss.clone()),
        seed,
    )?;
    let baresip = score(speech48, &b.received, band)?;
    // The datagrams' indices are the relay's packet indices: the pattern is by index.
    let pattern = loss_pattern(loss, seed, b.sent.len());
    let rtp = replay_receive::rtp_packets(&b.sent);
    let audio_pt = rtp
        .iter()
        .map(|p| p.pt)
        .max_by_key(|pt| rtp.iter().filter(|p| p.pt == *pt).count())
        .unwrap_or(0);
    let payloads: Vec<(usize, Vec<u8>)> = b
        .sent
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            hookflash_tests::g722_tap::parse(d)
                .filter(|p| p.pt == audio_pt)
                .map(|p| (i, p.payload))
        })
        .collect();
    let out = dir.join(format!("{slug}-ours.wav"));
    let run = replay_receive::run(&ReplayReceive {
        datagrams: b.sent.clone(),
        codec,
        clock_rate,
        impairment: Impairment::with_loss(loss.clone()),
        seed,
        output: out.clone(),
    })?;
    eprintln!(
        "  replay {slug}: {} RTP packets (PT {}), relay {:?}; ours: lost {}, concealed {}, late {}, stretched {}, accelerated {}, buffer target {:.0} ms, jitter {:.1} ms",
        run.rtp_packets,
        run.payload_type,
        run.relay.to_right,
        run.receiver.packets_lost,
        run.receiver.concealed_frames,
        run.receiver.late_packets,
        run.receiver.playout_stretched,
        run.receiver.playout_accelerated,
        run.receiver.jitter_buffer_target_ms,
        run.receiver.jitter_ms
    );
    let ours = score(speech48, &out, band)?;
    Ok(SamePackets {
        baresip,
        ours,
        payloads,
        pattern,
    })
}
