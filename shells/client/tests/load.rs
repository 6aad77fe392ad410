//! onbeat-load end to end, briefly: against the real server, and against
//! nats-server when it is installed.

use std::process::Command;
use std::time::Duration;

use onbeat_server::auth;
use onbeat_server::{Config, Server};
use serde_json::Value;

const SECRET: &str = "load-smoke-secret";

/// Runs onbeat-load with `args`; returns its closing JSON line.
fn load(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_onbeat-load"))
        .args(args)
        .output()
        .expect("onbeat-load runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

fn assert_clean(report: &Value) {
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["received"].as_u64().unwrap() > 0, "{report}");
    assert!(
        report["deliveries_per_s"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    assert!(report["p99_us"].as_u64().unwrap() >= report["p50_us"].as_u64().unwrap());
}

#[test]
fn a_short_run_against_the_server_loses_nothing() {
    let mut config = Config::loopback(SECRET);
    config.limits.publishes_per_sec = 10_000;
    config.limits.publishes_burst = 10_000;
    let server = Server::start(config).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = auth::mint_grants(SECRET.as_bytes(), "load", &["room:table:*"], now, 600).unwrap();
    let url = format!("ws://{}/ws", server.local_addr());
    for codec in ["json", "postcard"] {
        let report = load(&[
            "--url",
            &url,
            "--token",
            &token,
            "--codec",
            codec,
            "--subscribers",
            "5",
            "--rate",
            "100",
            "--duration",
            "0.3",
            "--drain",
            "3",
        ]);
        assert_clean(&report);
        assert_eq!(report["codec"], codec);
    }
    server.shutdown();
}

fn nats_server() -> Option<String> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    let found = on_path.or_else(|| {
        let sbin = std::path::PathBuf::from("/usr/sbin/nats-server");
        sbin.is_file().then_some(sbin)
    });
    found.map(|p| p.to_string_lossy().into_owned())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_short_run_against_nats_loses_nothing() {
    let Some(nats) = nats_server() else {
        println!("skipped: nats-server is not installed");
        return;
    };
    let dir = std::env::temp_dir().join(format!("onbeat-load-nats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ws = free_port();
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{}\nwebsocket {{ listen: \"127.0.0.1:{ws}\", no_tls: true }}\n",
            free_port()
        ),
    )
    .unwrap();
    let mut child = Command::new(nats).arg("-c").arg(&conf).spawn().unwrap();
    let up = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", ws)).is_ok()
    });
    let report = up.then(|| {
        load(&[
            "--target",
            "nats",
            "--url",
            &format!("ws://127.0.0.1:{ws}"),
            "--subscribers",
            "5",
            "--rate",
            "100",
            "--duration",
            "0.3",
            "--drain",
            "3",
        ])
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_clean(&report.expect("nats-server listens"));
}
