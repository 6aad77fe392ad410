//! The kernel's floor under one send per delivery: what a server pays to
//! write one small WebSocket frame to each of 1,000 loopback connections,
//! 200 times a second, before any work of its own.
//!
//! One thread pinned to core 0 writes one 102-byte frame (a 2-byte text
//! frame header and 100 bytes) to each connection per round, a round every
//! 1/`--rate` s for `--secs` s; a thread on core 1 drains every connection
//! through one epoll set. Printed per way of writing: the sender thread's
//! CPU time per send (user and system), and how long a round of sends
//! takes (p50, p99, max), with the load average.
//!
//! ```sh
//! cargo run --release -p onbeat-client --example send_floor
//! cargo run --release -p onbeat-client --example send_floor -- --conns 200 --secs 3
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use rustix::event::epoll;
use rustix::net::{SendFlags, send};
use rustix::thread::{CpuSet, sched_setaffinity};
use rustix::time::{ClockId, clock_gettime};

#[derive(Parser)]
#[command(about = "CPU time of one small send per connection per round, on loopback")]
struct Args {
    /// Connections written to each round.
    #[arg(long, default_value_t = 1000)]
    conns: usize,
    /// Rounds per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds measured per way of writing (after 0.25 s of warm-up).
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Bytes per send: a WebSocket frame of 100 bytes is 102.
    #[arg(long, default_value_t = 102)]
    size: usize,
    /// The drain thread polls without sleeping, so that no send has to
    /// wake it: shows what the receiver's wake-ups add to each send.
    #[arg(long)]
    spin: bool,
}

/// How each send is made.
#[derive(Clone, Copy, Debug)]
enum Way {
    /// `write(2)`, as `std::io::Write` (and async-io) do.
    Write,
    /// `send(2)` with `MSG_DONTWAIT | MSG_NOSIGNAL`.
    Send,
}

/// What one way of writing measured.
struct Figures {
    sends: u64,
    would_block: u64,
    /// Sender thread CPU time inside the rounds, µs.
    cpu_us: f64,
    /// User and system ticks of the sender thread over the whole run.
    user_ticks: u64,
    sys_ticks: u64,
    /// Each round's wall time, µs.
    rounds_us: Vec<u64>,
    /// Rounds that began more than one period late.
    late: usize,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut senders = Vec::with_capacity(args.conns);
    let mut receivers = Vec::with_capacity(args.conns);
    for _ in 0..args.conns {
        let receiver = TcpStream::connect(addr)?;
        let (sender, _) = listener.accept()?;
        // As the server's sockets: no Nagle delay, non-blocking.
        sender.set_nodelay(true)?;
        sender.set_nonblocking(true)?;
        receiver.set_nonblocking(true)?;
        senders.push(sender);
        receivers.push(receiver);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let draining = {
        let stop = stop.clone();
        let spin = args.spin;
        std::thread::spawn(move || drain(receivers, spin, &stop))
    };
    println!(
        "{} connections, {} rounds/s, {} B per send, {} s per way, drain {}; load average {}",
        args.conns,
        args.rate,
        args.size,
        args.secs,
        if args.spin {
            "spinning"
        } else {
            "sleeping in epoll_wait"
        },
        loadavg()
    );
    for way in [Way::Write, Way::Send] {
        let senders = &senders;
        let figures = std::thread::scope(|s| {
            s.spawn(|| {
                pin(0);
                rounds(senders, way, &args)
            })
            .join()
        })
        .expect("the sender thread does not panic")?;
        report(way, &figures, &args);
    }
    stop.store(true, Ordering::Relaxed);
    draining.join().expect("the drain thread does not panic")?;
    println!("load average after: {}", loadavg());
    Ok(())
}

/// Pins the calling thread to `core`, if the machine has it.
fn pin(core: usize) {
    let mut set = CpuSet::new();
    set.set(core);
    if let Err(e) = sched_setaffinity(None, &set) {
        eprintln!("cannot pin to core {core}: {e}");
    }
}

/// Reads everything that arrives until `stop`, on core 1.
fn drain(receivers: Vec<TcpStream>, spin: bool, stop: &AtomicBool) -> std::io::Result<()> {
    pin(1);
    let poll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    for (i, r) in receivers.iter().enumerate() {
        epoll::add(
            &poll,
            r,
            epoll::EventData::new_u64(i as u64),
            epoll::EventFlags::IN,
        )?;
    }
    let mut events = Vec::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let tick = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: if spin { 0 } else { 50_000_000 },
    };
    while !stop.load(Ordering::Relaxed) {
        events.clear();
        match epoll::wait(
            &poll,
            rustix::buffer::spare_capacity(&mut events),
            Some(&tick),
        ) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        for event in &events {
            let mut r = &receivers[event.data.u64() as usize];
            // Level-triggered: what one read leaves is reported again.
            let _ = r.read(&mut buf);
        }
    }
    Ok(())
}

/// The rounds of one way of writing, on the calling thread.
fn rounds(senders: &[TcpStream], way: Way, args: &Args) -> std::io::Result<Figures> {
    let mut frame = vec![b'x'; args.size.max(2)];
    frame[0] = 0x81; // FIN, text
    frame[1] = (args.size.saturating_sub(2)).min(125) as u8;
    let period = Duration::from_secs(1) / args.rate.max(1);
    let warm_up = (args.rate as usize / 4).max(1);
    let measured = (args.secs * f64::from(args.rate)).round() as usize;
    let mut figures = Figures {
        sends: 0,
        would_block: 0,
        cpu_us: 0.0,
        user_ticks: 0,
        sys_ticks: 0,
        rounds_us: Vec::with_capacity(measured),
        late: 0,
    };
    let start = Instant::now();
    let mut ticks = (0, 0);
    for round in 0..warm_up + measured {
        let due = start + period * round as u32;
        if round == warm_up {
            ticks = thread_ticks();
        }
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        } else if now > due + period && round >= warm_up {
            figures.late += 1;
        }
        let cpu = thread_cpu();
        let began = Instant::now();
        let mut would_block = 0;
        for sender in senders {
            let sent = match way {
                Way::Write => (&*sender).write(&frame),
                Way::Send => send(sender, &frame, SendFlags::DONTWAIT | SendFlags::NOSIGNAL)
                    .map_err(std::io::Error::from),
            };
            match sent {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => would_block += 1,
                Err(e) => return Err(e),
            }
        }
        let took = began.elapsed();
        let cpu = thread_cpu() - cpu;
        if round >= warm_up {
            figures.rounds_us.push(took.as_micros() as u64);
            figures.cpu_us += cpu.as_secs_f64() * 1e6;
            figures.sends += senders.len() as u64;
            figures.would_block += would_block;
        }
    }
    let end = thread_ticks();
    figures.user_ticks = end.0 - ticks.0;
    figures.sys_ticks = end.1 - ticks.1;
    Ok(figures)
}

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The calling thread's user and system time in clock ticks, from
/// `/proc/thread-self/stat` (fields 14 and 15); zeros where it is missing.
fn thread_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // The command name may hold spaces: count fields after its ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    (next(), next())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn report(way: Way, f: &Figures, args: &Args) {
    let mut rounds = f.rounds_us.clone();
    rounds.sort_unstable();
    let at = |q: f64| rounds[((rounds.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
    let per_send = f.cpu_us / f.sends.max(1) as f64;
    let ticks = (f.user_ticks + f.sys_ticks).max(1) as f64;
    let period_ms = 1e3 / f64::from(args.rate);
    println!(
        "{way:?}: {} sends, CPU {per_send:.2} µs/send ({:.0}% system), round of {}: \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (period {period_ms:.1} ms), \
         {} rounds late, {} would-block; load average {}",
        f.sends,
        100.0 * f.sys_ticks as f64 / ticks,
        args.conns,
        at(0.5),
        at(0.99),
        at(1.0),
        f.late,
        f.would_block,
        loadavg()
    );
}
