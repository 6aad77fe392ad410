//! Overrides of a scenario's bottleneck from the command line (`--jitter`,
//! `--queue`, `--loss-burst`): they change the link both estimators run on
//! alike, and the scenario's name says so.

use std::fmt;

use onbeat_core::Duration;

use super::link::{BottleneckConfig, Loss, QueueLimit};
use super::scenario::{Scenario, Setup};

/// Loss probability during a bad period of `--loss-burst`.
pub const BAD_LOSS: f64 = 0.5;
/// The longest time an option accepts: longer is a typo, and would only
/// push the run's clock towards its end.
const MAX_MS: f64 = 3_600_000.0;
/// Bytes in a `kB` of `--queue`.
const KB: u64 = 1024;

/// Why an option was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionError {
    /// Not a number of milliseconds.
    NotMs(String),
    /// Not a time (`300ms`, `1s`) or a size (`64kB`, `65536B`).
    NotLimit(String),
    /// A time or size below zero.
    Negative(String),
    /// Zero where more is needed.
    Zero(String),
    /// A time over an hour, or a size over 4 GB.
    TooLarge(String),
    /// `--loss-burst` with a scenario that has no random loss to make bursty.
    BurstWithout,
    /// `--loss-burst` with a loss at or over what bad periods can produce.
    BurstLossTooHigh(f64),
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::NotMs(v) => write!(f, "{v:?} is not a number of milliseconds"),
            OptionError::NotLimit(v) => write!(
                f,
                "{v:?} is neither a time (300ms, 1s) nor a size (64kB, 65536B)"
            ),
            OptionError::Negative(v) => write!(f, "{v:?} is negative"),
            OptionError::Zero(v) => write!(f, "{v:?} is too small: it must be above zero"),
            OptionError::TooLarge(v) => {
                write!(f, "{v:?} is too large: at most an hour, or 4 GB")
            }
            OptionError::BurstWithout => write!(
                f,
                "--loss-burst makes the random loss of random-loss bursty; \
                 this scenario has none"
            ),
            OptionError::BurstLossTooHigh(pct) => write!(
                f,
                "--loss {pct} with --loss-burst: bad periods lose half their packets, \
                 so the loss must be below 50%"
            ),
        }
    }
}

impl std::error::Error for OptionError {}

/// Overrides of a scenario's link; `None` keeps the scenario's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkOptions {
    /// Extra delay per packet, uniform in `[0, jitter)`.
    pub jitter: Option<Duration>,
    /// The drop-tail queue's limit.
    pub queue: Option<QueueLimit>,
    /// Mean length of a bad period; turns `random-loss` into Gilbert–Elliott.
    pub loss_burst: Option<Duration>,
}

impl LinkOptions {
    /// The scenario's setup on `seed` with the overrides applied.
    pub fn setup(&self, scenario: &Scenario, seed: u64) -> Result<Setup, OptionError> {
        let mut setup = scenario.setup(seed);
        self.apply(&mut setup.link)?;
        Ok(setup)
    }

    /// Applies the overrides to a scenario's link.
    pub fn apply(&self, link: &mut BottleneckConfig) -> Result<(), OptionError> {
        if let Some(jitter) = self.jitter {
            link.jitter = jitter;
        }
        if let Some(queue) = self.queue {
            link.queue = queue;
        }
        if let Some(bad_mean) = self.loss_burst {
            let Loss::Random(p) = link.loss else {
                return Err(OptionError::BurstWithout);
            };
            link.loss = bursty(p, bad_mean)?;
        }
        Ok(())
    }

    /// The scenario's name with every override, so that runs on different
    /// links never share a name: `random-loss-5-burst-40ms-jitter-10ms-queue-64kB`.
    pub fn name(&self, scenario: &str) -> String {
        let mut name = scenario.to_string();
        if let Some(d) = self.loss_burst {
            name += &format!("-burst-{}", ms_label(d));
        }
        if let Some(d) = self.jitter {
            name += &format!("-jitter-{}", ms_label(d));
        }
        if let Some(q) = self.queue {
            name += &format!("-queue-{}", queue_label(q));
        }
        name
    }
}

/// Gilbert–Elliott loss with a long-run loss of `p`: bad periods of mean
/// `bad_mean` lose [`BAD_LOSS`] of their packets, good ones none, and good
/// periods last `bad_mean · (1 − 2p) / 2p` on average so that bad time is
/// `2p` of the whole.
pub fn bursty(p: f64, bad_mean: Duration) -> Result<Loss, OptionError> {
    if !(0.0..BAD_LOSS).contains(&p) {
        // Rounded so that the message shows the percentage as it was given.
        return Err(OptionError::BurstLossTooHigh((p * 1e8).round() / 1e6));
    }
    if p == 0.0 {
        return Ok(Loss::None);
    }
    let bad_share = p / BAD_LOSS;
    let good = bad_mean.as_micros() as f64 * (1.0 - bad_share) / bad_share;
    Ok(Loss::Bursty {
        good_mean: Duration::from_micros(good.round() as u64),
        bad_mean,
        loss_good: 0.0,
        loss_bad: BAD_LOSS,
    })
}

fn ms_label(d: Duration) -> String {
    let us = d.as_micros();
    if us % 1000 == 0 {
        format!("{}ms", us / 1000)
    } else {
        format!("{}ms", us as f64 / 1000.0)
    }
}

fn queue_label(q: QueueLimit) -> String {
    match q {
        QueueLimit::Time(d) => ms_label(d),
        QueueLimit::Bytes(b) if u64::from(b) % KB == 0 => format!("{}kB", u64::from(b) / KB),
        QueueLimit::Bytes(b) => format!("{b}B"),
    }
}

/// A time in milliseconds, at least `min_us` microseconds.
fn time(value: &str, ms: f64, min_us: u64) -> Result<Duration, OptionError> {
    if ms > MAX_MS {
        return Err(OptionError::TooLarge(value.into()));
    }
    let us = (ms * 1000.0).round();
    if us < 0.0 {
        return Err(OptionError::Negative(value.into()));
    }
    if us < min_us as f64 {
        return Err(OptionError::Zero(value.into()));
    }
    Ok(Duration::from_micros(us as u64))
}

fn number(value: &str) -> Result<f64, OptionError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| OptionError::NotMs(value.into()))
}

/// `--jitter MS`: zero or more milliseconds.
pub fn parse_jitter(value: &str) -> Result<Duration, OptionError> {
    time(value, number(value)?, 0)
}

/// `--loss-burst MS`: a positive number of milliseconds.
pub fn parse_burst(value: &str) -> Result<Duration, OptionError> {
    time(value, number(value)?, 1)
}

/// `--queue LIMIT`: `300ms` or `1s` (a time), `64kB` or `65536B` (a size,
/// 1 kB = 1024 B); positive.
pub fn parse_queue(value: &str) -> Result<QueueLimit, OptionError> {
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(v.len());
    let (digits, unit) = v.split_at(split);
    let x = digits
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| OptionError::NotLimit(value.into()))?;
    let bytes = |per: u64| {
        let b = x * per as f64;
        if b.fract() != 0.0 {
            Err(OptionError::NotLimit(value.into()))
        } else if b < 0.0 {
            Err(OptionError::Negative(value.into()))
        } else if b < 1.0 {
            Err(OptionError::Zero(value.into()))
        } else if b > f64::from(u32::MAX) {
            Err(OptionError::TooLarge(value.into()))
        } else {
            Ok(QueueLimit::Bytes(b as u32))
        }
    };
    match unit {
        "ms" => time(value, x, 1).map(QueueLimit::Time),
        "s" => time(value, x * 1000.0, 1).map(QueueLimit::Time),
        "B" => bytes(1),
        "kB" | "KB" | "KiB" => bytes(KB),
        _ => Err(OptionError::NotLimit(value.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitrate::capacity::Capacity;

    #[test]
    fn queue_limits_parse_as_times_or_sizes() {
        let ms = |n| QueueLimit::Time(Duration::from_millis(n));
        assert_eq!(parse_queue("300ms"), Ok(ms(300)));
        assert_eq!(parse_queue("1s"), Ok(ms(1000)));
        assert_eq!(parse_queue("64kB"), Ok(QueueLimit::Bytes(65_536)));
        assert_eq!(parse_queue("65536B"), Ok(QueueLimit::Bytes(65_536)));
        for bad in [
            "64",
            "64xB",
            "kB",
            "1.5B",
            "-3ms",
            "0B",
            "0ms",
            "nanms",
            "5000000kB",
        ] {
            assert!(parse_queue(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn times_refuse_negatives_and_nonsense() {
        assert_eq!(parse_jitter("0"), Ok(Duration::ZERO));
        assert_eq!(parse_jitter("2.5"), Ok(Duration::from_micros(2500)));
        assert!(matches!(parse_jitter("-1"), Err(OptionError::Negative(_))));
        assert!(matches!(parse_jitter("ten"), Err(OptionError::NotMs(_))));
        assert!(matches!(parse_jitter("inf"), Err(OptionError::NotMs(_))));
        assert!(matches!(parse_burst("0"), Err(OptionError::Zero(_))));
        assert!(matches!(parse_burst("1e9"), Err(OptionError::TooLarge(_))));
    }

    #[test]
    fn the_name_carries_every_override() {
        let all = LinkOptions {
            jitter: Some(Duration::from_millis(10)),
            queue: Some(QueueLimit::Bytes(65_536)),
            loss_burst: Some(Duration::from_millis(40)),
        };
        assert_eq!(
            all.name("random-loss-5"),
            "random-loss-5-burst-40ms-jitter-10ms-queue-64kB"
        );
        let some = LinkOptions {
            jitter: Some(Duration::from_micros(2500)),
            queue: Some(QueueLimit::Bytes(1000)),
            loss_burst: None,
        };
        assert_eq!(
            some.name("rfc8867-5.1"),
            "rfc8867-5.1-jitter-2.5ms-queue-1000B"
        );
        assert_eq!(LinkOptions::default().name("layers"), "layers");
    }

    #[test]
    fn burst_keeps_the_long_run_loss() {
        let Ok(Loss::Bursty {
            good_mean,
            bad_mean,
            loss_good,
            loss_bad,
        }) = bursty(0.05, Duration::from_millis(40))
        else {
            panic!("not bursty");
        };
        // Bad time is 2p of the whole: 40 / (40 + 360) = 10%, half of it lost.
        assert_eq!(good_mean, Duration::from_millis(360));
        assert_eq!(bad_mean, Duration::from_millis(40));
        assert_eq!((loss_good, loss_bad), (0.0, 0.5));
        assert_eq!(bursty(0.0, Duration::from_millis(40)), Ok(Loss::None));
        assert_eq!(
            bursty(0.5, Duration::from_millis(40)),
            Err(OptionError::BurstLossTooHigh(50.0))
        );
    }

    #[test]
    fn burst_needs_random_loss() {
        let mut link = BottleneckConfig {
            capacity: Capacity::constant(1_000_000),
            queue: QueueLimit::Time(Duration::from_millis(300)),
            delay: Duration::from_millis(50),
            jitter: Duration::ZERO,
            loss: Loss::None,
        };
        let burst = LinkOptions {
            loss_burst: Some(Duration::from_millis(40)),
            ..LinkOptions::default()
        };
        assert_eq!(burst.apply(&mut link), Err(OptionError::BurstWithout));
        link.loss = Loss::Random(0.03);
        assert_eq!(burst.apply(&mut link), Ok(()));
        assert!(matches!(link.loss, Loss::Bursty { .. }));
    }
}
