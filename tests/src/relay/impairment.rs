//! The impairment model of the relay: given a packet's arrival time, decide whether it is
//! dropped and when (and how many times) it is delivered. Pure and seeded: the same seed and
//! settings give the same fate to every packet, with no sockets or clocks involved.
//!
//! Each effect draws from its own random stream derived from the seed, so the loss pattern of
//! a seed depends only on the packet index and the [`LossModel`] — the bench applies exactly
//! the same pattern offline (see [`loss_pattern`]) as the relay applies to a live call.
//!
//! Effects, in the order they apply to a packet:
//! 1. loss: none, independent random loss, or Gilbert–Elliott burst loss (the two-state chain
//!    with no loss in the good state and certain loss in the bad state, so its loss rate is
//!    the share of time spent in the bad state and the mean burst is `1 / P(bad → good)`);
//! 2. delay: a fixed `delay` plus normally distributed jitter with standard deviation
//!    `jitter` (never below zero). With `jitter_reorders == false` a packet never overtakes
//!    the one before it (it waits for it), as on a single queue; with `true` it may;
//! 3. reordering: with probability `reorder` a packet is held back a further `reorder_hold`
//!    so that the packets behind it overtake it;
//! 4. duplication: with probability `duplicate` a delivered packet is delivered twice.

use std::time::Duration;

/// Which packets are lost.
#[derive(Clone, Debug, PartialEq)]
pub enum LossModel {
    None,
    /// Each packet is lost independently with probability `rate` (0..1).
    Random {
        rate: f64,
    },
    /// Gilbert–Elliott bursts: long-run loss `rate` (0..1) in bursts of `mean_burst` packets
    /// on average (≥ 1).
    Burst {
        rate: f64,
        mean_burst: f64,
    },
}

impl LossModel {
    /// The long-run share of packets lost.
    pub fn rate(&self) -> f64 {
        match self {
            LossModel::None => 0.0,
            LossModel::Random { rate } | LossModel::Burst { rate, .. } => *rate,
        }
    }

    /// Short label for reports: `none`, `random 10%`, `burst 8% (mean 3)`.
    pub fn label(&self) -> String {
        match self {
            LossModel::None => "none".into(),
            LossModel::Random { rate } => format!("random {}%", rate * 100.0),
            LossModel::Burst { rate, mean_burst } => {
                format!("burst {}% (mean {mean_burst})", rate * 100.0)
            }
        }
    }
}

/// Everything the relay does to one direction of traffic.
#[derive(Clone, Debug, PartialEq)]
pub struct Impairment {
    pub loss: LossModel,
    /// Fixed one-way delay added to every packet.
    pub delay: Duration,
    /// Standard deviation of the normally distributed extra delay.
    pub jitter: Duration,
    /// Whether jitter may make a packet overtake the one sent before it.
    pub jitter_reorders: bool,
    /// Probability that a packet is held back by `reorder_hold` (0..1).
    pub reorder: f64,
    pub reorder_hold: Duration,
    /// Probability that a delivered packet is delivered twice (0..1).
    pub duplicate: f64,
}

impl Default for Impairment {
    fn default() -> Self {
        Impairment::none()
    }
}

impl Impairment {
    /// A perfect line: every packet delivered once, at once, in order.
    pub fn none() -> Impairment {
        Impairment {
            loss: LossModel::None,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            jitter_reorders: false,
            reorder: 0.0,
            reorder_hold: Duration::from_millis(40),
            duplicate: 0.0,
        }
    }

    /// Only loss, per `loss`.
    pub fn with_loss(loss: LossModel) -> Impairment {
        Impairment {
            loss,
            ..Impairment::none()
        }
    }

    /// Parses a comma-separated spec such as `loss=10%`, `loss=8%,burst=3`,
    /// `delay=40ms,jitter=30ms,reorder=1%,dup=0.5%` or `jitter=30ms,jitter-reorders`.
    /// Keys: `loss`, `burst` (mean burst length in packets; makes the loss Gilbert–Elliott),
    /// `delay`, `jitter`, `jitter-reorders`, `reorder`, `hold` (reorder hold), `dup`.
    /// Percentages take `%`; times take `ms` or `s`. An empty spec is a perfect line.
    pub fn parse(spec: &str) -> Result<Impairment, String> {
        let mut imp = Impairment::none();
        let mut loss = 0.0;
        let mut burst: Option<f64> = None;
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            match key.trim() {
                "loss" => loss = parse_share(value, key)?,
                "burst" => {
                    let b: f64 = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("burst must be a mean burst length in packets (like burst=3), not {value:?}"))?;
                    if !(b >= 1.0 && b.is_finite()) {
                        return Err(format!("burst must be at least 1 packet, not {b}"));
                    }
                    burst = Some(b);
                }
                "delay" => imp.delay = parse_time(value, key)?,
                "jitter" => imp.jitter = parse_time(value, key)?,
                "jitter-reorders" => imp.jitter_reorders = true,
                "reorder" => imp.reorder = parse_share(value, key)?,
                "hold" => imp.reorder_hold = parse_time(value, key)?,
                "dup" => imp.duplicate = parse_share(value, key)?,
                other => {
                    return Err(format!(
                        "unknown impairment {other:?}; use loss, burst, delay, jitter, jitter-reorders, reorder, hold or dup"
                    ))
                }
            }
        }
        imp.loss = match (loss, burst) {
            (0.0, _) => LossModel::None,
            (rate, None) => LossModel::Random { rate },
            (rate, Some(mean_burst)) => {
                if rate >= 1.0 {
                    return Err("burst loss needs a loss rate below 100%".into());
                }
                LossModel::Burst { rate, mean_burst }
            }
        };
        Ok(imp)
    }
}

fn parse_share(value: &str, key: &str) -> Result<f64, String> {
    let v = value.trim();
    let (num, scale) = match v.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (v, 1.0),
    };
    let x: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{key} must be a share like {key}=5% or {key}=0.05, not {value:?}"))?;
    let x = x / scale;
    if !(0.0..=1.0).contains(&x) {
        return Err(format!("{key} must be between 0% and 100%, not {value}"));
    }
    Ok(x)
}

fn parse_time(value: &str, key: &str) -> Result<Duration, String> {
    let v = value.trim();
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(format!(
            "{key} needs a unit, like {key}=40ms or {key}=0.04s, not {value:?}"
        ));
    };
    let x: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{key} must be a time like {key}=40ms, not {value:?}"))?;
    if !(x >= 0.0 && x.is_finite()) {
        return Err(format!("{key} cannot be negative ({value})"));
    }
    Ok(Duration::from_secs_f64(x * scale))
}

/// SplitMix64: a tiny, well-known generator; good enough for test traffic and stable forever
/// (a pattern recorded in a report can be regenerated from its seed).
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

const LOSS_STREAM: u64 = 1;
const JITTER_STREAM: u64 = 2;
const REORDER_STREAM: u64 = 3;
const DUP_STREAM: u64 = 4;

/// The loss process alone: one decision per packet, in packet order.
#[derive(Clone, Debug)]
pub struct LossProcess {
    model: LossModel,
    rng: Rng,
    /// Gilbert–Elliott state; `None` until the first packet.
    bad: Option<bool>,
}

impl LossProcess {
    pub fn new(model: LossModel, seed: u64) -> LossProcess {
        LossProcess {
            model,
            rng: Rng::new(seed, LOSS_STREAM),
            bad: None,
        }
    }

    /// Whether the next packet is lost.
    pub fn next_lost(&mut self) -> bool {
        match self.model {
            LossModel::None => false,
            LossModel::Random { rate } => self.rng.chance(rate),
            LossModel::Burst { rate, mean_burst } => {
                // P(bad → good) = 1 / mean burst; P(good → bad) chosen so the stationary share
                // of bad = rate: p / (p + r) = rate.
                let r = 1.0 / mean_burst.max(1.0);
                let p = (rate * r / (1.0 - rate).max(1e-9)).min(1.0);
                let bad = match self.bad {
                    // Start in the stationary distribution, so short runs are not biased.
                    None => self.rng.chance(rate),
                    Some(true) => !self.rng.chance(r),
                    Some(false) => self.rng.chance(p),
                };
                self.bad = Some(bad);
                bad
            }
        }
    }
}

/// `n` loss decisions of `model` with `seed` (`true` = lost): exactly what a relay direction
/// with the same model and seed does to its first `n` packets.
pub fn loss_pattern(model: &LossModel, seed: u64, n: usize) -> Vec<bool> {
    let mut p = LossProcess::new(model.clone(), seed);
    (0..n).map(|_| p.next_lost()).collect()
}

/// What happens to one packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Fate {
    /// 0 for the first packet offered, then 1, 2, ...
    pub index: u64,
    /// Delivery times on the same clock as the arrival time; empty when the packet is lost,
    /// two entries when it is duplicated.
    pub deliveries: Vec<Duration>,
}

impl Fate {
    pub fn lost(&self) -> bool {
        self.deliveries.is_empty()
    }
}

/// Applies an [`Impairment`] to a stream of packets, one call per packet in arrival order.
#[derive(Clone, Debug)]
pub struct Impairer {
    cfg: Impairment,
    loss: LossProcess,
    jitter_rng: Rng,
    reorder_rng: Rng,
    dup_rng: Rng,
    /// Delivery time of the last packet that was not held back (keeps order without reordering).
    last_due: Duration,
    index: u64,
}

impl Impairer {
    pub fn new(cfg: Impairment, seed: u64) -> Impairer {
        Impairer {
            loss: LossProcess::new(cfg.loss.clone(), seed),
            jitter_rng: Rng::new(seed, JITTER_STREAM),
            reorder_rng: Rng::new(seed, REORDER_STREAM),
            dup_rng: Rng::new(seed, DUP_STREAM),
            cfg,
            last_due: Duration::ZERO,
            index: 0,
        }
    }

    pub fn config(&self) -> &Impairment {
        &self.cfg
    }

    /// The fate of the next packet, which arrived at `arrival` (any monotonic clock).
    pub fn next(&mut self, arrival: Duration) -> Fate {
        let index = self.index;
        self.index += 1;
        // Every stream draws once per packet whatever happens, so each effect's pattern is a
        // function of the packet index only.
        let lost = self.loss.next_lost();
        let z = self.jitter_rng.normal();
        let held = self.reorder_rng.chance(self.cfg.reorder);
        let dup = self.dup_rng.chance(self.cfg.duplicate);
        if lost {
            return Fate {
                index,
                deliveries: Vec::new(),
            };
        }
        let extra = (self.cfg.delay.as_secs_f64() + z * self.cfg.jitter.as_secs_f64()).max(0.0);
        let mut due = arrival + Duration::from_secs_f64(extra);
        if !self.cfg.jitter_reorders {
            due = due.max(self.last_due);
        }
        if held {
            due += self.cfg.reorder_hold;
        } else {
            self.last_due = self.last_due.max(due);
        }
        let deliveries = if dup { vec![due, due] } else { vec![due] };
        Fate { index, deliveries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 100_000;

    fn bursts(pattern: &[bool]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut run = 0;
        for &l in pattern {
            if l {
                run += 1;
            } else if run > 0 {
                out.push(run);
                run = 0;
            }
        }
        if run > 0 {
            out.push(run);
        }
        out
    }

    fn share(pattern: &[bool]) -> f64 {
        pattern.iter().filter(|&&l| l).count() as f64 / pattern.len() as f64
    }

    #[test]
    fn random_loss_rate_and_isolated_losses() {
        let p = loss_pattern(&LossModel::Random { rate: 0.10 }, 7, N);
        let s = share(&p);
        assert!((s - 0.10).abs() < 0.005, "loss share {s}");
        let b = bursts(&p);
        let mean = b.iter().sum::<usize>() as f64 / b.len() as f64;
        // Independent loss at 10 %: mean run 1 / (1 - 0.1) ≈ 1.11.
        assert!((mean - 1.0 / 0.9).abs() < 0.03, "mean run {mean}");
    }

    #[test]
    fn burst_loss_rate_and_mean_burst_length() {
        for (rate, mean_burst) in [(0.08, 3.0), (0.20, 2.0), (0.05, 5.0)] {
            let p = loss_pattern(&LossModel::Burst { rate, mean_burst }, 42, N);
            let s = share(&p);
            assert!((s - rate).abs() < rate * 0.1, "rate {rate}: share {s}");
            let b = bursts(&p);
            let mean = b.iter().sum::<usize>() as f64 / b.len() as f64;
            assert!(
                (mean - mean_burst).abs() < mean_burst * 0.07,
                "burst {mean_burst}: mean {mean}"
            );
        }
    }

    #[test]
    fn same_seed_same_pattern_other_seed_other_pattern() {
        let m = LossModel::Burst {
            rate: 0.08,
            mean_burst: 3.0,
        };
        assert_eq!(loss_pattern(&m, 1, 5000), loss_pattern(&m, 1, 5000));
        assert_ne!(loss_pattern(&m, 1, 5000), loss_pattern(&m, 2, 5000));
        let r = LossModel::Random { rate: 0.1 };
        assert_eq!(loss_pattern(&r, 9, 5000), loss_pattern(&r, 9, 5000));
    }

    #[test]
    fn loss_pattern_does_not_depend_on_other_effects() {
        let loss = LossModel::Random { rate: 0.1 };
        let mut plain = Impairer::new(Impairment::with_loss(loss.clone()), 5);
        let mut busy = Impairer::new(
            Impairment {
                loss: loss.clone(),
                delay: Duration::from_millis(30),
                jitter: Duration::from_millis(30),
                jitter_reorders: true,
                reorder: 0.05,
                reorder_hold: Duration::from_millis(40),
                duplicate: 0.05,
            },
            5,
        );
        let expected = loss_pattern(&loss, 5, 2000);
        for (i, lost) in expected.into_iter().enumerate() {
            let t = Duration::from_millis(20 * i as u64);
            assert_eq!(plain.next(t).lost(), lost, "packet {i}");
            assert_eq!(busy.next(t).lost(), lost, "packet {i}");
        }
    }

    #[test]
    fn perfect_line_delivers_everything_once_after_the_fixed_delay() {
        let mut imp = Impairer::new(
            Impairment {
                delay: Duration::from_millis(25),
                ..Impairment::none()
            },
            3,
        );
        for i in 0..100u64 {
            let t = Duration::from_millis(20 * i);
            let f = imp.next(t);
            assert_eq!(f.index, i);
            assert_eq!(f.deliveries, vec![t + Duration::from_millis(25)]);
        }
    }

    /// Delivery order of packets sent every 20 ms (first delivery of each).
    fn delivery_times(cfg: Impairment, n: usize) -> Vec<Duration> {
        let mut imp = Impairer::new(cfg, 11);
        (0..n)
            .filter_map(|i| {
                imp.next(Duration::from_millis(20 * i as u64))
                    .deliveries
                    .first()
                    .copied()
            })
            .collect()
    }

    fn overtaken_share(times: &[Duration]) -> f64 {
        // A packet is out of order when a later-sent one is delivered before it.
        let mut min_after = Duration::MAX;
        let mut late = 0;
        for t in times.iter().rev() {
            if *t > min_after {
                late += 1;
            }
            min_after = min_after.min(*t);
        }
        late as f64 / times.len() as f64
    }

    #[test]
    fn jitter_has_the_configured_spread_and_reorders_only_when_allowed() {
        let sigma = Duration::from_millis(30);
        let delay = Duration::from_millis(200); // far from zero, so the normal is not clipped
        let cfg = Impairment {
            delay,
            jitter: sigma,
            jitter_reorders: true,
            ..Impairment::none()
        };
        let times = delivery_times(cfg.clone(), 20_000);
        let extra: Vec<f64> = times
            .iter()
            .enumerate()
            .map(|(i, t)| t.as_secs_f64() - 0.020 * i as f64)
            .collect();
        let mean = extra.iter().sum::<f64>() / extra.len() as f64;
        let sd =
            (extra.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / extra.len() as f64).sqrt();
        assert!((mean - 0.200).abs() < 0.002, "mean delay {mean}");
        assert!((sd - 0.030).abs() < 0.002, "jitter sd {sd}");
        assert!(overtaken_share(&times) > 0.1);

        let in_order = delivery_times(
            Impairment {
                jitter_reorders: false,
                ..cfg
            },
            20_000,
        );
        assert!(
            in_order.windows(2).all(|w| w[0] <= w[1]),
            "without reordering, order is kept"
        );
    }

    #[test]
    fn explicit_reordering_holds_back_the_requested_share() {
        let cfg = Impairment {
            reorder: 0.05,
            reorder_hold: Duration::from_millis(45),
            ..Impairment::none()
        };
        let times = delivery_times(cfg, N);
        let s = overtaken_share(&times);
        assert!((s - 0.05).abs() < 0.004, "overtaken share {s}");
    }

    #[test]
    fn duplication_rate() {
        let mut imp = Impairer::new(
            Impairment {
                duplicate: 0.02,
                ..Impairment::none()
            },
            4,
        );
        let dups = (0..N)
            .filter(|i| imp.next(Duration::from_millis(*i as u64)).deliveries.len() == 2)
            .count();
        let s = dups as f64 / N as f64;
        assert!((s - 0.02).abs() < 0.002, "duplicate share {s}");
    }

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        let i = Impairment::parse("loss=8%,burst=3,delay=40ms,jitter=0.03s,reorder=1%,dup=0.5%")
            .unwrap();
        assert_eq!(
            i.loss,
            LossModel::Burst {
                rate: 0.08,
                mean_burst: 3.0
            }
        );
        assert_eq!(i.delay, Duration::from_millis(40));
        assert_eq!(i.jitter, Duration::from_millis(30));
        assert!((i.reorder - 0.01).abs() < 1e-12 && (i.duplicate - 0.005).abs() < 1e-12);
        assert!(!i.jitter_reorders);
        assert_eq!(
            Impairment::parse("loss=0.1").unwrap().loss,
            LossModel::Random { rate: 0.1 }
        );
        assert_eq!(Impairment::parse("").unwrap(), Impairment::none());
        assert!(
            Impairment::parse("jitter=30ms,jitter-reorders")
                .unwrap()
                .jitter_reorders
        );
        assert!(Impairment::parse("loss=120%")
            .unwrap_err()
            .contains("between 0% and 100%"));
        assert!(Impairment::parse("delay=40")
            .unwrap_err()
            .contains("needs a unit"));
        assert!(Impairment::parse("burst=0.5,loss=5%")
            .unwrap_err()
            .contains("at least 1"));
        assert!(Impairment::parse("wobble=3")
            .unwrap_err()
            .contains("unknown impairment"));
    }
}
