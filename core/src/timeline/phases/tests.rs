use super::*;
use crate::timeline::Schedule;

fn ms(v: u64) -> Instant {
    Instant::from_millis(v)
}

/// open 3 s (inputs), closed 1 s, reveal 2 s; starting at 10 s.
fn table(rounds: Option<u32>) -> Timeline {
    let mut s = Schedule::new()
        .phase("open", Duration::from_secs(3), true)
        .unwrap()
        .phase("closed", Duration::from_secs(1), false)
        .unwrap()
        .phase("reveal", Duration::from_secs(2), false)
        .unwrap();
    if let Some(r) = rounds {
        s = s.rounds(r);
    }
    Timeline::new(s, ms(10_000), TimelineConfig::default())
}

fn drain(t: &mut Timeline, now: Instant) -> std::vec::Vec<TimelineEvent> {
    t.handle_timeout(now);
    core::iter::from_fn(|| t.poll_output()).collect()
}

fn describe(events: &[TimelineEvent]) -> std::vec::Vec<(&'static str, u32, &str, u64)> {
    events
        .iter()
        .map(|e| match e {
            TimelineEvent::Upcoming(p) => (
                "upcoming",
                p.round,
                p.name.as_str(),
                p.starts_at.as_micros() / 1000,
            ),
            TimelineEvent::Began(p) => (
                "began",
                p.round,
                p.name.as_str(),
                p.starts_at.as_micros() / 1000,
            ),
            TimelineEvent::Finished => ("finished", 0, "", 0),
        })
        .collect()
}

#[test]
fn announces_ahead_then_begins_in_time_order() {
    let mut t = table(Some(1));
    assert_eq!(t.poll_timeout(), Some(ms(9_000)));
    assert!(drain(&mut t, ms(8_999)).is_empty());
    let mut seen = std::vec::Vec::new();
    // Drive it exactly as a shell would: to each deadline in turn.
    while let Some(at) = t.poll_timeout() {
        seen.extend(drain(&mut t, at));
    }
    assert_eq!(
        describe(&seen),
        [
            ("upcoming", 0, "open", 10_000),
            ("began", 0, "open", 10_000),
            ("upcoming", 0, "closed", 13_000),
            // Due at the same instant: the phase that begins comes first.
            ("began", 0, "closed", 13_000),
            ("upcoming", 0, "reveal", 14_000),
            ("began", 0, "reveal", 14_000),
            ("finished", 0, "", 0),
        ]
    );
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn judges_inputs_against_the_server_timeline() {
    let t = table(None);
    assert_eq!(t.judge(ms(9_999), None), Err(RejectCode::NotOpen));
    let v = t.judge(ms(10_000), None).unwrap();
    assert_eq!((v.round, v.phase, v.closes_at), (0, 0, ms(13_000)));
    assert!(t.judge(ms(12_999), Some(0)).is_ok());
    // The deadline is exclusive: at 13 000 ms the phase has closed.
    assert_eq!(t.judge(ms(13_000), None), Err(RejectCode::Late));
    assert_eq!(t.judge(ms(15_999), Some(0)), Err(RejectCode::Late));
    // Round 1 opens at 16 s; a pick for round 0 then is late, one for round 2 early.
    assert_eq!(t.judge(ms(16_500), Some(0)), Err(RejectCode::Late));
    assert_eq!(t.judge(ms(16_500), Some(2)), Err(RejectCode::NotOpen));
    assert_eq!(t.judge(ms(16_500), Some(1)).unwrap().round, 1);
}

#[test]
fn after_the_last_round_inputs_are_late() {
    let t = table(Some(2));
    assert!(t.judge(ms(18_999), None).is_ok());
    assert_eq!(t.judge(ms(21_000), None), Err(RejectCode::Late));
    assert_eq!(t.judge(ms(22_000), None), Err(RejectCode::Late));
    assert_eq!(t.judge(ms(99_000), None), Err(RejectCode::Late));
}

#[test]
fn a_round_that_opens_late_rejects_early_inputs_as_not_open() {
    let s = Schedule::new()
        .phase("lobby", Duration::from_secs(2), false)
        .unwrap()
        .phase("play", Duration::from_secs(2), true)
        .unwrap();
    let t = Timeline::new(s, ms(0), TimelineConfig::default());
    assert_eq!(t.judge(ms(1_000), None), Err(RejectCode::NotOpen));
    assert!(t.judge(ms(3_000), None).is_ok());
}

#[test]
fn a_stalled_shell_skips_phases_already_over() {
    let mut t = table(None);
    let seen = drain(&mut t, ms(25_500));
    // Round 2 runs 22–28 s: only phases not yet ended are reported.
    assert_eq!(
        describe(&seen),
        [
            ("upcoming", 2, "closed", 25_000),
            ("began", 2, "closed", 25_000),
            ("upcoming", 2, "reveal", 26_000),
        ]
    );
    assert_eq!(t.phase_during(ms(25_500)).unwrap().name.as_str(), "closed");
}

#[test]
fn same_inputs_same_outputs() {
    let run = || {
        let mut t = table(Some(3));
        let mut out = std::vec::Vec::new();
        for step in 0..400u64 {
            out.extend(drain(&mut t, ms(step * 97)));
            out.push(TimelineEvent::Upcoming(
                t.phase_during(ms(step * 97))
                    .unwrap_or_else(|| t.phase_during(ms(10_000)).unwrap()),
            ));
        }
        out
    };
    assert_eq!(run(), run());
}

#[test]
fn schedule_refuses_bad_phases() {
    assert_eq!(
        Schedule::new().phase("x", Duration::ZERO, true),
        Err(crate::timeline::ScheduleError::ZeroDuration)
    );
    assert_eq!(
        Schedule::new().phase("a-name-longer-than-sixteen", Duration::from_secs(1), true),
        Err(crate::timeline::ScheduleError::NameTooLong)
    );
    let mut s = Schedule::new();
    for _ in 0..crate::timeline::MAX_PHASES {
        s = s.phase("p", Duration::from_secs(1), false).unwrap();
    }
    assert_eq!(
        s.phase("p", Duration::from_secs(1), false),
        Err(crate::timeline::ScheduleError::TooManyPhases)
    );
}
