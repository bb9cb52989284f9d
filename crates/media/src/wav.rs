//! WAV files as call audio: a source that plays any WAV (any rate, any channel count, integer
//! or float samples), downmixed to mono and resampled to the codec's rate; and a sink that
//! records mono 16-bit at the codec's rate, rewriting the header every second so the file is
//! valid even if the process dies before `finish`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::audio_io::{AudioSink, AudioSource};
use crate::error::MediaError;
use crate::resample::{to_f32, to_i16, StreamResampler};

/// Plays a WAV file, then silence.
pub struct WavSource {
    path: PathBuf,
    reader: Option<hound::WavReader<BufReader<File>>>,
    channels: usize,
    format: hound::SampleFormat,
    bits: u16,
    resampler: StreamResampler,
    /// Converted audio waiting to be read, at the output rate.
    ready: std::collections::VecDeque<i16>,
    rate: u32,
    ended: bool,
    file_rate: u32,
}

const READ_FRAMES: usize = 4800;

impl WavSource {
    /// Opens `path` and prepares to deliver it as mono PCM at `rate` Hz.
    pub fn open(path: &Path, rate: u32) -> Result<Self, MediaError> {
        let reader = hound::WavReader::open(path).map_err(|e| MediaError::WavOpen {
            path: path.to_path_buf(),
            reason: describe_hound(e),
        })?;
        let spec = reader.spec();
        let bad = |reason: &str| MediaError::WavFormat {
            path: path.to_path_buf(),
            reason: reason.into(),
        };
        if spec.channels == 0 {
            return Err(bad("it declares zero channels"));
        }
        if spec.sample_rate < 1000 || spec.sample_rate > 384_000 {
            return Err(bad(&format!(
                "its sample rate {} Hz is not supported",
                spec.sample_rate
            )));
        }
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 8 | 16 | 24 | 32) | (hound::SampleFormat::Float, 32) => {}
            (f, b) => return Err(bad(&format!("{b}-bit {f:?} samples are not supported"))),
        }
        Ok(WavSource {
            path: path.to_path_buf(),
            channels: spec.channels as usize,
            format: spec.sample_format,
            bits: spec.bits_per_sample,
            resampler: StreamResampler::new(spec.sample_rate, rate)?,
            reader: Some(reader),
            ready: std::collections::VecDeque::new(),
            rate,
            ended: false,
            file_rate: spec.sample_rate,
        })
    }

    /// The WAV file's own sample rate.
    pub fn file_rate(&self) -> u32 {
        self.file_rate
    }

    /// Reads and converts another block of the file. Returns false at end of file.
    fn fill(&mut self) -> Result<bool, MediaError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(false);
        };
        let want = READ_FRAMES * self.channels;
        let mut interleaved: Vec<f32> = Vec::with_capacity(want);
        let read_err = |e: hound::Error| e.to_string();
        let res: Result<(), String> = match self.format {
            hound::SampleFormat::Float => reader
                .samples::<f32>()
                .take(want)
                .try_for_each(|s| s.map(|v| interleaved.push(v)).map_err(read_err)),
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (self.bits - 1)) as f32;
                reader.samples::<i32>().take(want).try_for_each(|s| {
                    s.map(|v| interleaved.push(v as f32 * scale))
                        .map_err(read_err)
                })
            }
        };
        if let Err(reason) = res {
            // A truncated file: play what we have, then stop.
            tracing::warn!("WAV file {} is damaged: {reason}", self.path.display());
            interleaved.truncate(interleaved.len() - interleaved.len() % self.channels);
        }
        let at_end = interleaved.len() < want;
        let mono: Vec<f32> = interleaved
            .chunks_exact(self.channels)
            .map(|f| f.iter().sum::<f32>() / self.channels as f32)
            .collect();
        let mut out = Vec::with_capacity(mono.len() * 6 + 64);
        self.resampler.process(&mono, &mut out)?;
        if at_end {
            self.resampler.flush(&mut out)?;
            self.reader = None;
        }
        let mut pcm = Vec::with_capacity(out.len());
        to_i16(&out, &mut pcm);
        self.ready.extend(pcm);
        Ok(!at_end)
    }
}

impl AudioSource for WavSource {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        while self.ready.len() < out.len() && self.reader.is_some() {
            self.fill()?;
        }
        let n = out.len().min(self.ready.len());
        for (o, s) in out.iter_mut().zip(self.ready.drain(..n)) {
            *o = s;
        }
        out[n..].fill(0);
        if n < out.len() {
            self.ended = true;
        }
        Ok(())
    }

    fn ended(&self) -> bool {
        self.ended
    }
}

/// Records mono 16-bit PCM.
pub struct WavSink {
    path: PathBuf,
    writer: Option<hound::WavWriter<std::io::BufWriter<File>>>,
    rate: u32,
    since_flush: usize,
}

impl WavSink {
    pub fn create(path: &Path, rate: u32) -> Result<Self, MediaError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| MediaError::WavOpen {
            path: path.to_path_buf(),
            reason: describe_hound(e),
        })?;
        Ok(WavSink {
            path: path.to_path_buf(),
            writer: Some(writer),
            rate,
            since_flush: 0,
        })
    }

    fn werr(&self, e: hound::Error) -> MediaError {
        MediaError::WavWrite {
            path: self.path.clone(),
            reason: describe_hound(e),
        }
    }
}

impl AudioSink for WavSink {
    fn rate(&self) -> u32 {
        self.rate
    }

    fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut res = Ok(());
        for &s in pcm {
            if let Err(e) = w.write_sample(s) {
                res = Err(e);
                break;
            }
        }
        self.since_flush += pcm.len();
        if res.is_ok() && self.since_flush >= self.rate as usize {
            self.since_flush = 0;
            res = w.flush();
        }
        res.map_err(|e| self.werr(e))
    }

    fn finish(&mut self) -> Result<(), MediaError> {
        match self.writer.take() {
            Some(w) => w.finalize().map_err(|e| self.werr(e)),
            None => Ok(()),
        }
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Turns hound's errors into the plain reason a user reads.
fn describe_hound(e: hound::Error) -> String {
    match e {
        hound::Error::IoError(io) => match io.kind() {
            std::io::ErrorKind::NotFound => "No such file".into(),
            std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
            _ => io.to_string(),
        },
        hound::Error::FormatError(m) => format!("not a valid WAV file ({m})"),
        hound::Error::Unsupported => "this kind of WAV file is not supported".into(),
        other => other.to_string(),
    }
}

/// Reads a whole WAV as mono f32 and its rate (tests and tools).
pub fn read_mono(path: &Path) -> Result<(Vec<f32>, u32), MediaError> {
    let mut src = WavSource::open(path, 1)?; // rate replaced below
    let rate = src.file_rate();
    src.resampler = StreamResampler::new(rate, rate)?;
    src.rate = rate;
    let mut pcm = Vec::new();
    while src.fill()? {}
    let samples: Vec<i16> = src.ready.drain(..).collect();
    to_f32(&samples, &mut pcm);
    Ok((pcm, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("hookflash-media-{}-{name}", std::process::id()))
    }

    #[test]
    fn stereo_44k_float_becomes_mono_8k() {
        let path = tmp("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44100,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..44100 {
            let v = (i as f32 / 44100.0 * 300.0 * std::f32::consts::TAU).sin() * 0.5;
            w.write_sample(v).unwrap();
            w.write_sample(-v).unwrap(); // cancels out in the downmix
        }
        w.finalize().unwrap();
        let mut src = WavSource::open(&path, 8000).unwrap();
        let mut frame = vec![0i16; 160];
        let mut total = 0;
        let mut peak = 0i16;
        while !src.ended() {
            src.read(&mut frame).unwrap();
            total += 160;
            peak = peak.max(frame.iter().map(|s| s.abs()).max().unwrap());
        }
        assert_eq!(
            total,
            8000 + 160,
            "one second, then the all-silent frame that reports the end"
        );
        assert!(peak < 50, "left and right cancel: peak {peak}");
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn sink_writes_a_valid_file_before_finish() {
        let path = tmp("sink.wav");
        let mut sink = WavSink::create(&path, 8000).unwrap();
        sink.write(&vec![1000i16; 8000]).unwrap(); // one second: triggers a header flush
                                                   // Read it while the writer is still open: the header already describes the samples.
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(r.len(), 8000);
        sink.write(&[5; 80]).unwrap();
        sink.finish().unwrap();
        let r = hound::WavReader::open(&path).unwrap();
        assert_eq!(r.len(), 8080);
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn missing_file_error_reads_well() {
        let e = WavSource::open(Path::new("/x.wav"), 8000).err().unwrap();
        assert_eq!(e.to_string(), "cannot open WAV file /x.wav: No such file");
        let e = WavSink::create(Path::new("/no/such/dir/out.wav"), 8000)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "cannot open WAV file /no/such/dir/out.wav: No such file"
        );
    }

    #[test]
    fn not_a_wav_is_reported() {
        let path = tmp("garbage.wav");
        std::fs::write(&path, b"this is not RIFF").unwrap();
        let e = WavSource::open(&path, 8000).err().unwrap();
        assert!(e.to_string().starts_with("cannot open WAV file"), "{e}");
        assert!(e.to_string().contains("not a valid WAV file"), "{e}");
        std::fs::remove_file(&path).ok();
    }
}
