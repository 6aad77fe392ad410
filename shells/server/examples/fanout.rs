//! A quick measurement through the real server over loopback: one publisher,
//! many subscribers, one topic; deliveries per second, publish-to-receive
//! latency, and the server's memory per idle connection.
//!
//! ```text
//! cargo run --release -p onbeat-server --example fanout -- fan 1000 max 5
//! cargo run --release -p onbeat-server --example fanout -- fan 1000 200 5
//! cargo run --release -p onbeat-server --example fanout -- idle 10000
//! ```
//!
//! The server runs in a child process (this program re-run with `serve`,
//! one I/O thread, which also runs the hub; `FANOUT_THREADS=2` for two I/O
//! threads) so that its RSS is its own; `FANOUT_WRAP="valgrind
//! --tool=callgrind"` runs it under a tool, stopped with SIGTERM so the
//! tool writes its report.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::HeaderValue;
use futures_util::StreamExt;
use onbeat_server::auth::mint_grants;
use onbeat_server::{Config, Server};
use smol::net::TcpStream;

const SECRET: &str = "fanout-secret";
const TOPIC: &str = "table/chat";
/// Subscribers whose deliveries are parsed for latency; the rest only count.
const SAMPLED: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(),
        Some("idle") => idle(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000)),
        Some("fan") => {
            let subs = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
            let rate = args.get(2).and_then(|r| r.parse::<u64>().ok());
            let secs = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(5);
            fan(subs, rate, secs);
        }
        _ => eprintln!("usage: fanout fan SUBSCRIBERS RATE|max SECONDS | idle N"),
    }
}

fn serve() {
    // ONBEAT_* variables still apply (e.g. ONBEAT_LIMITS__QUEUE_MESSAGES).
    let mut config = Config::load(None).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    // FANOUT_THREADS sets the I/O threads (the hub has its own).
    config.threads = std::env::var("FANOUT_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    config.auth.secret = SECRET.into();
    config.limits.publishes_per_sec = 1_000_000;
    config.limits.publishes_burst = 1_000_000;
    config.limits.frames_per_sec = 1_000_000;
    config.limits.frames_burst = 1_000_000;
    config.limits.max_connections = 100_000;
    let server = Server::start(config).unwrap();
    println!("{}", server.local_addr());
    // Runs until the parent kills it.
    loop {
        std::thread::park();
    }
}

fn spawn_server() -> (Child, SocketAddr) {
    // FANOUT_WRAP runs the server under a tool, e.g.
    // `FANOUT_WRAP="valgrind --tool=callgrind"`.
    let wrap = std::env::var("FANOUT_WRAP").unwrap_or_default();
    let mut argv: Vec<String> = wrap.split_whitespace().map(String::from).collect();
    argv.push(std::env::current_exe().unwrap().display().to_string());
    argv.push("serve".into());
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().unwrap())
}

/// SIGTERM rather than a kill, so a wrapping tool writes its profile.
fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

type Ws = async_tungstenite::WebSocketStream<TcpStream>;

async fn connect(addr: SocketAddr, sub: &str) -> Ws {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = mint_grants(SECRET.as_bytes(), sub, &["room:table:*"], now, 3600).unwrap();
    let mut req = format!("ws://{addr}/ws?token={token}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("onbeat.json.v1"),
    );
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = async_tungstenite::client_async(req, tcp).await.unwrap();
    ws.send(Message::text(r#"{"hello":{"version":1}}"#))
        .await
        .unwrap();
    wait_for(&mut ws, "\"welcome\"").await;
    ws
}

async fn wait_for(ws: &mut Ws, needle: &str) {
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            if t.contains(needle) {
                return;
            }
        }
    }
    panic!("connection ended before {needle}");
}

fn idle(n: usize) {
    let (child, addr) = spawn_server();
    let before = rss_kib(child.id());
    let conns = smol::block_on(async {
        let mut conns = Vec::with_capacity(n);
        for i in 0..n {
            conns.push(connect(addr, &format!("idle-{i}")).await);
        }
        conns
    });
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(child.id());
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
    println!(
        "idle: {n} connections (hello'd sessions); server RSS {before} KiB -> {after} KiB; {per:.0} bytes per connection"
    );
    drop(conns);
    stop(child);
}

fn fan(subs: usize, rate: Option<u64>, secs: u64) {
    let (child, addr) = spawn_server();
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let ex = Arc::new(smol::Executor::new());
    let result = smol::block_on(ex.run(async {
        let mut tasks = Vec::new();
        for i in 0..subs {
            let mut ws = connect(addr, &format!("s{i}")).await;
            ws.send(Message::text(format!(
                r#"{{"subscribe":{{"topic":"{TOPIC}"}}}}"#
            )))
            .await
            .unwrap();
            wait_for(&mut ws, "\"subscribed\"").await;
            let (received, latencies) = (received.clone(), latencies.clone());
            tasks.push(ex.spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    let Message::Text(t) = m else { continue };
                    if !t.starts_with("{\"deliver\"") {
                        continue;
                    }
                    received.fetch_add(1, Ordering::Relaxed);
                    if i < SAMPLED {
                        let at = t.find("\"t\":").map(|p| &t[p + 4..]);
                        let sent = at.and_then(|s| s[..s.find(',')?].parse::<u64>().ok());
                        if let Some(sent) = sent {
                            let latency = micros().saturating_sub(sent);
                            latencies.lock().unwrap().push(latency);
                        }
                    }
                }
            }));
        }
        let mut publisher = connect(addr, "publisher").await;
        let start = Instant::now();
        let end = start + Duration::from_secs(secs);
        let mut sent = 0u64;
        while Instant::now() < end {
            if let Some(rate) = rate {
                let due = start + Duration::from_micros(sent * 1_000_000 / rate);
                smol::Timer::at(due).await;
            }
            let stamp = format!(r#"{{"t":{},"p":""#, micros());
            let pad = "x".repeat(100usize.saturating_sub(stamp.len() + 2));
            let msg = format!(r#"{{"publish":{{"topic":"{TOPIC}","data":{stamp}{pad}"}}}}}}"#);
            publisher.send(Message::text(msg)).await.unwrap();
            sent += 1;
            if rate.is_none() && sent % 32 == 0 {
                // At full speed, a round trip every 32 publishes keeps the
                // publisher from running far ahead of the hub.
                publisher
                    .send(Message::text(r#"{"ping":{"seq":1,"t1":1}}"#))
                    .await
                    .unwrap();
                wait_for(&mut publisher, "\"pong\"").await;
            }
        }
        let elapsed = start.elapsed();
        smol::Timer::after(Duration::from_secs(1)).await;
        (sent, elapsed)
    }));
    let (sent, elapsed) = result;
    let got = received.load(Ordering::Relaxed);
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let expected = sent * subs as u64;
    println!(
        "fan-out: 1 publisher -> {subs} subscribers, {sent} messages of 100 bytes in {:.1} s ({}); \
         {got} of {expected} deliveries ({:.0}/s); latency p50 {} us, p99 {} us, max {} us (sampled {} deliveries)",
        elapsed.as_secs_f64(),
        rate.map_or("max rate".into(), |r| format!("{r} msg/s")),
        got as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        lat.last().copied().unwrap_or(0),
        lat.len(),
    );
    stop(child);
}
