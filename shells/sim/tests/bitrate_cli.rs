//! `onbeat-sim bitrate` refuses bad link options with a message and exit
//! code 2, and names the link it ran.

use std::process::{Command, Output};

/// Runs `onbeat-sim bitrate` with `args` split at spaces.
fn bitrate(args: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onbeat-sim"))
        .arg("bitrate")
        .args(args.split(' '))
        .output()
        .expect("the binary runs")
}

#[test]
fn bad_link_options_exit_2_with_a_reason() {
    let cases = [
        ("--scenario rfc8867-5.1 --jitter abc", "not a number"),
        ("--scenario rfc8867-5.1 --jitter -5", "negative"),
        ("--scenario rfc8867-5.1 --jitter 1e12", "too large"),
        ("--scenario rfc8867-5.1 --queue 64xB", "neither a time"),
        ("--scenario rfc8867-5.1 --queue 64", "neither a time"),
        ("--scenario rfc8867-5.1 --queue -300ms", "negative"),
        ("--scenario rfc8867-5.1 --queue 0kB", "above zero"),
        ("--scenario random-loss --loss-burst 0", "above zero"),
        ("--scenario random-loss --loss-burst x", "not a number"),
        (
            "--scenario rfc8867-5.1 --loss-burst 40",
            "this scenario has none",
        ),
        ("--scenario tcp-competition --loss-burst 40", "has none"),
        (
            "--scenario random-loss --loss 50 --loss-burst 40",
            "below 50%",
        ),
        (
            "--scenario random-loss --loss 1,60 --loss-burst 40",
            "--loss 60 with --loss-burst",
        ),
    ];
    for (args, reason) in cases {
        let out = bitrate(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args}: {err}");
        assert!(err.contains(reason), "{args}: {err}");
        assert!(!err.contains("panicked"), "{args}: {err}");
        assert!(out.stdout.is_empty(), "{args} ran");
    }
}

#[test]
fn the_json_line_names_every_override() {
    let out = bitrate(
        "--scenario random-loss --loss 5 --loss-burst 40 --jitter 10 --queue 64kB --seed 0",
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let name = "random-loss-5-burst-40ms-jitter-10ms-queue-64kB";
    let last = stdout.lines().last().unwrap_or_default();
    let line: serde_json::Value = serde_json::from_str(last).expect("a JSON line");
    assert_eq!(line["scenario"], name);
    assert!(stdout.starts_with(&format!("{name} over 1 seeds")));
}
