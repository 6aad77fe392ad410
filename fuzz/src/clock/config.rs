//! Decodes the `ClockConfig` a script runs under: the default or every field
//! from the input, kept honest in a truthful world.

use onbeat_core::time::Duration;
use onbeat_core::timeline::ClockConfig;

use super::TRUTHFUL_DRIFT_PPM;
use super::input::Input;

pub(super) fn decode_config(input: &mut Input<'_>, truthful: bool) -> ClockConfig {
    if input.byte() & 1 == 0 {
        let mut config = ClockConfig::default();
        if truthful {
            // The bound is only honest for drift below the configured maximum.
            config.max_drift_ppm = config.max_drift_ppm.max(TRUTHFUL_DRIFT_PPM as u32 + 1);
        }
        return config;
    }
    let mut d = || Duration::from_micros(input.span());
    let (interval, fast_interval, settled, ping_timeout, step_threshold) =
        (d(), d(), d(), d(), d());
    let fast_samples = input.byte();
    // Shared time advances at least at 1 − drift − slew; beyond that it
    // would have to run backwards, which no configuration can ask for.
    let max_drift_ppm = if truthful {
        TRUTHFUL_DRIFT_PPM as u32 + 1 + u32::from(input.u16()) % 10_000
    } else {
        u32::from(input.u16()) * 2
    };
    let wander_ppm = u32::from(input.byte());
    let max_slew_ppm = 1 + u32::from(input.u16()) % 100_000;
    ClockConfig {
        interval,
        fast_interval,
        fast_samples,
        settled,
        ping_timeout,
        max_drift_ppm,
        wander_ppm,
        step_threshold,
        max_slew_ppm,
    }
}
