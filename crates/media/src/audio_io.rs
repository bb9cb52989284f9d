//! Where call audio comes from and goes to: the [`AudioIn`]/[`AudioOut`] choices the engine
//! passes in, the small [`AudioSource`]/[`AudioSink`] traits the session drives every 20 ms,
//! and the silent `Null` ends. WAV files live in `wav.rs`, sound cards in `device.rs` (with
//! the fall-back-when-unplugged wrappers in `device_watch.rs`).

use crate::device_watch::DeviceNotices;
use std::path::PathBuf;

use crate::error::MediaError;

/// Microphone side of a call.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioIn {
    /// Silence.
    Null,
    /// Play this WAV file (any rate/channels), then silence.
    Wav(PathBuf),
    /// A capture device by name; `None` is the system default.
    Device(Option<String>),
    /// A call's port on the phone's [`AudioSwitch`](crate::audio_switch::AudioSwitch): the
    /// microphone while the call is active, hold music while it is parked.
    Port(crate::audio_switch::SwitchPort),
}

/// Speaker side of a call.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioOut {
    /// Discard.
    Null,
    /// Record mono 16-bit at the codec's rate.
    Wav(PathBuf),
    /// A playback device by name; `None` is the system default.
    Device(Option<String>),
    /// A call's port on the phone's [`AudioSwitch`](crate::audio_switch::AudioSwitch): the
    /// speaker while the call is active, discarded while it is parked.
    Port(crate::audio_switch::SwitchPort),
}

/// Produces mono PCM at a fixed rate, one frame per call.
pub trait AudioSource: Send {
    /// Rate of the PCM `read` produces.
    fn rate(&self) -> u32;
    /// Fills `out` completely (silence where nothing is available).
    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError>;
    /// True once a finite source (a file) has run out.
    fn ended(&self) -> bool {
        false
    }
}

/// Consumes mono PCM at a fixed rate.
pub trait AudioSink: Send {
    fn rate(&self) -> u32;
    fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError>;
    /// Completes the output (WAV header); further writes are ignored.
    fn finish(&mut self) -> Result<(), MediaError> {
        Ok(())
    }
}

/// Endless silence.
pub struct NullSource {
    rate: u32,
}

impl NullSource {
    pub fn new(rate: u32) -> Self {
        NullSource { rate }
    }
}

impl AudioSource for NullSource {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        out.fill(0);
        Ok(())
    }
}

/// Discards everything.
pub struct NullSink {
    rate: u32,
}

impl NullSink {
    pub fn new(rate: u32) -> Self {
        NullSink { rate }
    }
}

impl AudioSink for NullSink {
    fn rate(&self) -> u32 {
        self.rate
    }
    fn write(&mut self, _pcm: &[i16]) -> Result<(), MediaError> {
        Ok(())
    }
}

/// Opens the source `input` describes, delivering PCM at `rate` (a sound card's notices are
/// only logged: see [`open_source_with`]).
pub fn open_source(input: &AudioIn, rate: u32) -> Result<Box<dyn AudioSource>, MediaError> {
    open_source_with(input, rate, &DeviceNotices::none())
}

/// Opens the source `input` describes; a sound card tells `notices` when it goes or comes back.
pub fn open_source_with(
    input: &AudioIn,
    rate: u32,
    notices: &DeviceNotices,
) -> Result<Box<dyn AudioSource>, MediaError> {
    Ok(match input {
        AudioIn::Null => Box::new(NullSource::new(rate)),
        AudioIn::Wav(path) => Box::new(crate::wav::WavSource::open(path, rate)?),
        AudioIn::Device(name) => Box::new(crate::device_watch::DeviceSource::open(
            name.as_deref(),
            rate,
            notices,
        )?),
        AudioIn::Port(port) => crate::audio_switch::open_port_source(port, rate)?,
    })
}

/// Opens the sink `output` describes, accepting PCM at `rate` (a sound card's notices are only
/// logged: see [`open_sink_with`]).
pub fn open_sink(output: &AudioOut, rate: u32) -> Result<Box<dyn AudioSink>, MediaError> {
    open_sink_with(output, rate, &DeviceNotices::none())
}

/// Opens the sink `output` describes; a sound card tells `notices` when it goes or comes back.
pub fn open_sink_with(
    output: &AudioOut,
    rate: u32,
    notices: &DeviceNotices,
) -> Result<Box<dyn AudioSink>, MediaError> {
    Ok(match output {
        AudioOut::Null => Box::new(NullSink::new(rate)),
        AudioOut::Wav(path) => Box::new(crate::wav::WavSink::create(path, rate)?),
        AudioOut::Device(name) => Box::new(crate::device_watch::DeviceSink::open(
            name.as_deref(),
            rate,
            notices,
        )?),
        AudioOut::Port(port) => crate::audio_switch::open_port_sink(port, rate)?,
    })
}

/// Adapts a source to another rate (after a codec change mid-call).
pub struct ResampledSource {
    inner: Box<dyn AudioSource>,
    resampler: crate::resample::StreamResampler,
    buf_in: Vec<i16>,
    f_in: Vec<f32>,
    f_out: Vec<f32>,
    ready: std::collections::VecDeque<i16>,
}

impl ResampledSource {
    pub fn new(inner: Box<dyn AudioSource>, rate: u32) -> Result<Self, MediaError> {
        Ok(ResampledSource {
            resampler: crate::resample::StreamResampler::new(inner.rate(), rate)?,
            inner,
            buf_in: Vec::new(),
            f_in: Vec::new(),
            f_out: Vec::new(),
            ready: Default::default(),
        })
    }

    pub fn into_inner(self) -> Box<dyn AudioSource> {
        self.inner
    }
}

impl AudioSource for ResampledSource {
    fn rate(&self) -> u32 {
        self.resampler.output_rate()
    }
    fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
        let chunk = (self.inner.rate() / 50) as usize;
        let mut guard = 0;
        while self.ready.len() < out.len() && guard < 100 {
            guard += 1;
            self.buf_in.resize(chunk, 0);
            self.inner.read(&mut self.buf_in)?;
            self.f_in.clear();
            crate::resample::to_f32(&self.buf_in, &mut self.f_in);
            self.f_out.clear();
            self.resampler.process(&self.f_in, &mut self.f_out)?;
            let mut pcm = Vec::with_capacity(self.f_out.len());
            crate::resample::to_i16(&self.f_out, &mut pcm);
            self.ready.extend(pcm);
        }
        let n = out.len().min(self.ready.len());
        for (o, s) in out.iter_mut().zip(self.ready.drain(..n)) {
            *o = s;
        }
        out[n..].fill(0);
        Ok(())
    }
    fn ended(&self) -> bool {
        self.inner.ended()
    }
}

/// Adapts a sink to accept another rate.
pub struct ResampledSink {
    inner: Box<dyn AudioSink>,
    resampler: crate::resample::StreamResampler,
    f_in: Vec<f32>,
    f_out: Vec<f32>,
    pcm: Vec<i16>,
}

impl ResampledSink {
    pub fn new(inner: Box<dyn AudioSink>, rate: u32) -> Result<Self, MediaError> {
        Ok(ResampledSink {
            resampler: crate::resample::StreamResampler::new(rate, inner.rate())?,
            inner,
            f_in: Vec::new(),
            f_out: Vec::new(),
            pcm: Vec::new(),
        })
    }

    pub fn into_inner(self) -> Box<dyn AudioSink> {
        self.inner
    }
}

impl AudioSink for ResampledSink {
    fn rate(&self) -> u32 {
        self.resampler.input_rate()
    }
    fn write(&mut self, pcm: &[i16]) -> Result<(), MediaError> {
        self.f_in.clear();
        crate::resample::to_f32(pcm, &mut self.f_in);
        self.f_out.clear();
        self.resampler.process(&self.f_in, &mut self.f_out)?;
        self.pcm.clear();
        crate::resample::to_i16(&self.f_out, &mut self.pcm);
        self.inner.write(&self.pcm)
    }
    fn finish(&mut self) -> Result<(), MediaError> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_ends_are_silent_and_endless() {
        let mut s = open_source(&AudioIn::Null, 8000).unwrap();
        let mut f = [7i16; 160];
        s.read(&mut f).unwrap();
        assert!(f.iter().all(|&x| x == 0));
        assert!(!s.ended());
        let mut k = open_sink(&AudioOut::Null, 8000).unwrap();
        k.write(&f).unwrap();
        k.finish().unwrap();
    }

    struct Counter(i16, u32);
    impl AudioSource for Counter {
        fn rate(&self) -> u32 {
            self.1
        }
        fn read(&mut self, out: &mut [i16]) -> Result<(), MediaError> {
            out.fill(self.0);
            Ok(())
        }
    }

    #[test]
    fn resampled_source_delivers_full_frames_at_new_rate() {
        let mut s = ResampledSource::new(Box::new(Counter(8000, 8000)), 48000).unwrap();
        assert_eq!(s.rate(), 48000);
        let mut f = vec![0i16; 960];
        for _ in 0..10 {
            s.read(&mut f).unwrap();
        }
        // A constant input stays (nearly) constant after the start-up transient.
        assert!(f.iter().all(|&x| (x - 8000).abs() < 200), "{:?}", &f[..10]);
    }
}
