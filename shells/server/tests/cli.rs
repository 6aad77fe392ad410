//! The `onbeat` binary's refusal to serve the public default secret beyond
//! loopback, and that it still serves it on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `onbeat serve` with `args`, with no `ONBEAT_*` setting inherited from
/// the environment that runs the tests.
fn serve(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onbeat"));
    cmd.arg("serve").args(args).env("ONBEAT_LOG", "warn");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ONBEAT_") && key != "ONBEAT_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The first line `cmd` prints, within 20 s; the child is killed either way.
fn first_line(mut cmd: Command) -> String {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn the_default_secret_is_refused_beyond_loopback_with_the_setting_to_change() {
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let out = serve(&["--listen", listen]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{listen}: {stderr}");
        assert!(
            stderr.contains("ONBEAT_AUTH__SECRET") && stderr.contains("auth.secret"),
            "{listen}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing served on {listen}");
    }
    // The environment's listen address is checked like --listen.
    let out = serve(&[])
        .env("ONBEAT_LISTEN", "0.0.0.0:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_secret_of_ones_own_serves_beyond_loopback_and_the_default_serves_on_loopback() {
    let mut own = serve(&["--listen", "0.0.0.0:0"]);
    own.env("ONBEAT_AUTH__SECRET", "a-secret-of-ones-own");
    let line = first_line(own);
    assert!(
        line.starts_with("onbeat: serving http://0.0.0.0:"),
        "{line:?}"
    );

    let line = first_line(serve(&["--listen", "127.0.0.1:0"]));
    assert!(
        line.starts_with("onbeat: serving http://127.0.0.1:"),
        "{line:?}"
    );
}
