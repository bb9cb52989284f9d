//! Issue 12: the G.722 we send, heard by a decoder that is not ours. A hookflash-cli call to
//! baresip plays the reference speech with `--codec g722` through the tap; FFmpeg's
//! `adpcm_g722` decodes the payloads we sent. Reference: the codec alone, our encoder on the
//! same speech converted to 16 kHz by sox and FFmpeg decoding it, so the difference is what the
//! sending path (WAV reading, resampling, framing, pacing) costs.

use crate::lines::{Line, Verdict};
use hookflash_tests::g722_tap::{cli_g722_call, gain_db, peak, samples_16k, write_wav_16k};
use hookflash_tests::pesq::{self, Band};
use hookflash_tests::{ffmpeg, speech, TestDir};

const SECTION: &str = "G.722";
const WHAT: &str = "PESQ-WB of the G.722 we send (hookflash-cli call, RTP captured on the way), decoded by FFmpeg's adpcm_g722";
const TARGET: &str = "≥ the codec alone − 0.15, level within ±1 dB";

/// PESQ-WB of 16 kHz `samples` against `reference`, written to `dir/name` first.
fn score(
    dir: &TestDir,
    reference: &std::path::Path,
    name: &str,
    samples: &[i16],
) -> Result<f64, String> {
    let wav = dir.join(name);
    write_wav_16k(&wav, samples)?;
    pesq::try_score(reference, &wav, Band::Wide)
}

pub fn line(dir: &TestDir, with_baresip: bool) -> Line {
    if !with_baresip {
        return Line::not_measured(
            SECTION,
            WHAT,
            "the call's far end is baresip (--no-baresip)",
            TARGET,
        );
    }
    if !ffmpeg::available() {
        return Line::not_measured(SECTION, WHAT, "ffmpeg is not installed", TARGET);
    }
    match measure(dir) {
        Ok(l) => l,
        Err(e) => Line::not_measured(SECTION, WHAT, &e, TARGET),
    }
}

fn measure(dir: &TestDir) -> Result<Line, String> {
    let reference = speech::reference(dir.path());
    let source = samples_16k(&reference, dir, "g722-source-16k.wav")?;

    let mut alone = Vec::new();
    hookflash_media::g722::G722Encoder::new().encode_into(&source, &mut alone);
    let alone_pcm = ffmpeg::decode_g722(&alone, &dir.join("g722-alone"))?;
    let alone_score = score(dir, &reference, "g722-alone-ffmpeg.wav", &alone_pcm)?;

    let secs = speech::duration_secs(&reference).ceil() as u64 + 2;
    let sent = cli_g722_call(dir, &reference, secs)?;
    let stream: Vec<u8> = sent
        .iter()
        .flat_map(|r| r.payload.iter().copied())
        .collect();
    let heard = ffmpeg::decode_g722(&stream, &dir.join("g722-sent"))?;
    let sent_score = score(dir, &reference, "g722-sent-ffmpeg.wav", &heard)?;
    let gain = gain_db(&source, &heard);
    eprintln!(
        "G.722 sent by us, decoded by FFmpeg: PESQ-WB {sent_score:.3}, level {gain:+.2} dB, peak {} (source {}), {} packets; codec alone {alone_score:.3}",
        peak(&heard),
        peak(&source),
        sent.len()
    );
    Ok(Line::new(
        SECTION,
        WHAT,
        format!("{sent_score:.2} (level {gain:+.2} dB, peak {} for the source's {})", peak(&heard), peak(&source)),
        format!("the codec alone (our encoder on the speech at 16 kHz, FFmpeg decoding): {alone_score:.2}"),
        TARGET,
        Verdict::of(sent_score >= alone_score - 0.15 && gain.abs() <= 1.0),
    ))
}
