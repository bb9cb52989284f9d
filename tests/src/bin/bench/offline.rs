//! Offline references for the PESQ table: the same speech and the same seeded loss pattern as
//! the live calls, without any network or jitter buffer.
//!
//! - libopus (the `opus` crate) at 24 kbit/s, 20 ms frames: decoder PLC only (encoder without
//!   in-band FEC), and with FEC (encoder told the true loss rate; a lost frame is rebuilt from
//!   the FEC copy in the next packet when that one arrived, else concealed);
//! - G.711 µ-law with silence fill (a lost frame is zeros).

use hookflash_media::{decoder, encoder, Codec};

const OPUS_RATE: usize = 48_000;
const OPUS_FRAME: usize = OPUS_RATE / 50;
pub const OPUS_BITRATE: i32 = 24_000;

/// Splits `pcm` into `frame`-sample frames, the last one padded with zeros.
pub fn frames(pcm: &[i16], frame: usize) -> Vec<Vec<i16>> {
    pcm.chunks(frame)
        .map(|c| {
            let mut f = c.to_vec();
            f.resize(frame, 0);
            f
        })
        .collect()
}

/// Whether packet `i` is lost (packets beyond the pattern are not).
fn lost(pattern: &[bool], i: usize) -> bool {
    pattern.get(i).copied().unwrap_or(false)
}

/// 48 kHz mono speech through libopus with `pattern` (true = lost); returns 48 kHz PCM.
/// With `fec` the encoder adds in-band FEC for the pattern's loss rate and the decoder uses it.
pub fn opus(speech48: &[i16], pattern: &[bool], fec: bool) -> Result<Vec<i16>, String> {
    let loss_percent =
        (pattern.iter().filter(|&&l| l).count() * 100).div_ceil(pattern.len().max(1));
    let packets = opus_encode(speech48, fec, if fec { loss_percent as i32 } else { 0 })?;
    opus_decode(&packets, pattern, fec)
}

fn opus_err(e: opus::Error) -> String {
    format!("libopus: {e}")
}

/// 20 ms packets at [`OPUS_BITRATE`] (VoIP mode), FEC on or off, for an expected loss.
pub fn opus_encode(speech48: &[i16], fec: bool, loss_percent: i32) -> Result<Vec<Vec<u8>>, String> {
    let mut enc = opus::Encoder::new(
        OPUS_RATE as u32,
        opus::Channels::Mono,
        opus::Application::Voip,
    )
    .map_err(opus_err)?;
    enc.set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))
        .map_err(opus_err)?;
    enc.set_inband_fec(fec).map_err(opus_err)?;
    enc.set_packet_loss_perc(loss_percent).map_err(opus_err)?;
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 1500];
    for f in frames(speech48, OPUS_FRAME) {
        let n = enc.encode(&f, &mut buf).map_err(opus_err)?;
        packets.push(buf[..n].to_vec());
    }
    Ok(packets)
}

/// Decodes `packets` minus the lost ones: a lost frame is rebuilt from the next packet's FEC
/// copy when `use_fec` and that packet arrived, else concealed by the decoder's PLC.
pub fn opus_decode(
    packets: &[Vec<u8>],
    pattern: &[bool],
    use_fec: bool,
) -> Result<Vec<i16>, String> {
    let mut dec = opus::Decoder::new(OPUS_RATE as u32, opus::Channels::Mono).map_err(opus_err)?;
    let mut out = Vec::with_capacity(packets.len() * OPUS_FRAME);
    let mut frame = vec![0i16; OPUS_FRAME];
    for i in 0..packets.len() {
        let n = if !lost(pattern, i) {
            dec.decode(&packets[i], &mut frame, false)
                .map_err(opus_err)?
        } else if use_fec && i + 1 < packets.len() && !lost(pattern, i + 1) {
            dec.decode(&packets[i + 1], &mut frame, true)
                .map_err(opus_err)?
        } else {
            dec.decode(&[], &mut frame, false).map_err(opus_err)?
        };
        out.extend_from_slice(&frame[..n]);
    }
    Ok(out)
}

/// 8 kHz mono speech through G.711 µ-law with `pattern`; lost frames are silence.
pub fn g711_silence_fill(speech8: &[i16], pattern: &[bool]) -> Result<Vec<i16>, String> {
    let frame = Codec::Pcmu.samples_per_frame(20);
    let mut enc = encoder(Codec::Pcmu).map_err(|e| e.to_string())?;
    let mut dec = decoder(Codec::Pcmu).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(speech8.len() + frame);
    let mut payload = Vec::new();
    for (i, f) in frames(speech8, frame).iter().enumerate() {
        payload.clear();
        enc.encode(f, &mut payload).map_err(|e| e.to_string())?;
        if lost(pattern, i) {
            out.extend(std::iter::repeat_n(0i16, frame));
        } else {
            dec.decode(&payload, &mut out).map_err(|e| e.to_string())?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize, rate: f64) -> Vec<i16> {
        (0..n)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate).sin()) as i16)
            .collect()
    }

    fn energy(x: &[i16]) -> f64 {
        x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    #[test]
    fn silence_fill_zeroes_exactly_the_lost_frames() {
        let pcm = tone(8000, 8000.0);
        let mut pattern = vec![false; 50];
        pattern[3] = true;
        let out = g711_silence_fill(&pcm, &pattern).unwrap();
        assert_eq!(out.len(), 8000);
        assert!(out[480..640].iter().all(|&s| s == 0));
        assert!(energy(&out[320..480]) > 1e6 && energy(&out[640..800]) > 1e6);
    }

    #[test]
    fn opus_fec_rebuilds_lost_frames_better_than_plc() {
        let mut r = hound::WavReader::open("/usr/share/sounds/alsa/Front_Center.wav")
            .expect("alsa-utils speech clip");
        let speech: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
        let packets = opus_encode(&speech, true, 20).unwrap();
        // Every fifth packet lost (20 %).
        let pattern: Vec<bool> = (0..packets.len()).map(|i| i % 5 == 2).collect();
        let clean = opus_decode(&packets, &[], false).unwrap();
        let plc = opus_decode(&packets, &pattern, false).unwrap();
        let fec = opus_decode(&packets, &pattern, true).unwrap();
        assert_eq!(plc.len(), clean.len());
        assert_eq!(fec.len(), clean.len());
        let err = |x: &[i16]| {
            let d: Vec<i16> = x
                .iter()
                .zip(&clean)
                .map(|(a, b)| a.saturating_sub(*b))
                .collect();
            energy(&d)
        };
        assert!(
            err(&fec) < err(&plc) * 0.8,
            "FEC error {} vs PLC error {}",
            err(&fec),
            err(&plc)
        );
    }
}
