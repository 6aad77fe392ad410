//! A running server: its threads, its listener, and how it stops.
//!
//! Threads: `threads` executor threads run every connection's I/O (HTTP,
//! WebSocket reads and writes, TLS-free framing); the first `hubs` of them
//! also run a task each that owns one [`Hub`] (see [`crate::driver`]), the
//! hubs being shards of one event router (see `docs/dispatch.md`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use onbeat_core::dispatch::hub::{Capabilities, Hub, HubConfig, RateConfig, ShardId, room_owner};
use onbeat_core::proto::MemberId;
use onbeat_core::time::Duration;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use smol::channel::Sender;
use smol::net::{TcpListener, TcpStream};
use smol::{Executor, Task};
use smol_hyper::rt::FuturesIo;

use crate::clock::ServerClock;
use crate::config::Config;
use crate::direct;
use crate::driver::{Driver, FromPeer, Peers, ToHub};
use crate::metrics::Metrics;
use crate::{demo, http};

/// Messages waiting for the hub. Each slot is allocated up front.
const HUB_CHANNEL: usize = 8192;

/// What every task of a running server shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) clock: ServerClock,
    pub(crate) metrics: Arc<Metrics>,
    /// Each hub's channel, by index.
    pub(crate) hubs: Vec<Sender<ToHub>>,
    /// Weak, so that tasks holding `Shared` do not keep the executor (and
    /// themselves) alive after the server stops.
    pub(crate) executor: Weak<Executor<'static>>,
    pub(crate) draining: AtomicBool,
    pub(crate) next_conn: AtomicU64,
    next_anonymous: AtomicU64,
}

impl Shared {
    /// The capabilities of a connection without a token.
    pub(crate) fn anonymous(&self) -> Result<Capabilities, String> {
        if !(self.config.auth.anonymous_viewers && self.config.demo.enabled) {
            return Err("a token is required".into());
        }
        let n = self.next_anonymous.fetch_add(1, Ordering::Relaxed);
        // "viewer-" and a u64 fit a member name (64 bytes).
        let user = MemberId::try_from(format!("viewer-{n}").as_str()).expect("short name");
        Ok(Capabilities::new(user).subscribe(&format!("{}/*", demo::ROOM)))
    }
}

#[cfg(test)]
impl Shared {
    /// What a connection's tasks share, with `hub` in place of the hub's
    /// channel, for tests of one connection's parts.
    pub(crate) fn for_tests(hub: Sender<ToHub>) -> Arc<Shared> {
        Arc::new(Shared {
            config: Config::loopback("test-secret"),
            clock: ServerClock::start(),
            metrics: Arc::new(Metrics::default()),
            hubs: vec![hub],
            executor: Weak::new(),
            draining: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            next_anonymous: AtomicU64::new(1),
        })
    }
}

/// A running server. See the [crate docs](crate).
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<Task<()>>,
    executor: Option<Arc<Executor<'static>>>,
    /// One message from each hub as it ends.
    hub_done: std::sync::mpsc::Receiver<()>,
    io_threads: Vec<JoinHandle<()>>,
    stop_io: Sender<()>,
}

impl Server {
    /// Binds (use `127.0.0.1:0` in tests), starts its threads, and returns
    /// once it accepts connections.
    pub fn start(config: Config) -> io::Result<Server> {
        config
            .check_hubs()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let clock = ServerClock::start();
        let metrics = Arc::new(Metrics::default());
        let threads = config.io_threads();
        let hubs = config.hub_count();
        let mut rng = ChaCha20Rng::from_os_rng();
        let listener = smol::block_on(TcpListener::bind(config.listen))?;
        let addr = listener.local_addr()?;
        // Readers wait when a hub's channel is full; a hub takes up to 256
        // per pass.
        let (hub_txs, hub_rxs): (Vec<_>, Vec<_>) = (0..hubs)
            .map(|_| smol::channel::bounded::<ToHub>(HUB_CHANNEL))
            .unzip();
        let (peer_txs, peer_rxs): (Vec<_>, Vec<_>) = (0..hubs)
            .map(|_| smol::channel::unbounded::<FromPeer>())
            .unzip();
        // A hub holds room logic that is not `Send`, so each is built on its
        // own thread; the outcome of opening the demo comes back here.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let batch_bytes = config.limits.write_batch_bytes.max(1024);
        let (posting, dispatcher) = crate::outbox::outbox(metrics.clone());
        let executor = Arc::new(Executor::new());
        // A lone hub's passes are split over every thread (see
        // [`direct`]); several hubs each write their own connections.
        let split = if hubs == 1 { threads } else { 1 };
        let (pool, share_writers) = direct::pool(split, hub_txs[0].downgrade(), metrics.clone());
        let mut pools = vec![pool];
        pools.extend((1..hubs).map(|i| direct::pool(1, hub_txs[i].downgrade(), metrics.clone()).0));
        let mut share_writers = share_writers.into_iter();
        let (stop_io, stopped) = smol::channel::bounded::<()>(1);
        let (hub_done_tx, hub_done) = std::sync::mpsc::channel::<()>();
        // Two steps, so that no client meets a hub that has yet to hear what
        // another opened: each hub is built (its owner's topics opened and
        // told to the others), then, once all are, each takes in what it was
        // told before the server accepts.
        let (go_tx, go_rx) = smol::channel::bounded::<()>(1);
        let (synced_tx, synced_rx) = std::sync::mpsc::channel::<()>();
        let demo_owner = usize::from(room_owner(demo::ROOM, hubs as u16).0);
        // Each hub runs as a task of an executor thread, beside
        // connections: a thread of its own woke, and was woken by, the I/O
        // threads for every batch, and on a shared core each wake was a
        // thread switch.
        let mut hub_parts: Vec<_> = hub_rxs
            .into_iter()
            .zip(peer_rxs)
            .zip(pools)
            .enumerate()
            .map(|(i, ((hub_rx, peer_rx), pool))| {
                let mut seed = [0u8; 32];
                rng.fill(&mut seed);
                let shard = ShardId(i as u16);
                let hub_config = HubConfig {
                    shard,
                    shards: hubs as u16,
                    ..hub_config(&config, &clock)
                };
                let peers = (hubs > 1).then(|| Peers {
                    me: shard,
                    to: peer_txs.clone(),
                    from: peer_rx,
                });
                let demo = (config.demo.enabled && i == demo_owner).then(|| config.demo.clone());
                let metrics = metrics.clone();
                let (ready_tx, hub_done_tx, posting) =
                    (ready_tx.clone(), hub_done_tx.clone(), posting.clone());
                let (go, synced_tx) = (go_rx.clone(), synced_tx.clone());
                Some(move || {
                    let mut hub = Hub::new(hub_config, seed, clock.epoch(), clock.now());
                    let opened = match &demo {
                        Some(demo) => demo::open(&mut hub, demo, clock.now()),
                        None => Ok(()),
                    };
                    let Ok(()) = opened else {
                        let _ = ready_tx.send(opened);
                        return None;
                    };
                    let mut driver =
                        Driver::new(hub, clock, metrics, batch_bytes, posting, pool, peers);
                    driver.tell_peers();
                    let _ = ready_tx.send(Ok(()));
                    Some(async move {
                        // Closed once every hub is built.
                        let _ = go.recv().await;
                        driver.take_from_peers();
                        let _ = synced_tx.send(());
                        driver.run(hub_rx).await;
                        let _ = hub_done_tx.send(());
                    })
                })
            })
            .collect();
        drop((ready_tx, hub_done_tx, peer_txs, go_rx, synced_tx));
        let mut io_threads = Vec::with_capacity(threads);
        for i in 0..threads {
            let ex = executor.clone();
            let stopped = stopped.clone();
            let hub = hub_parts.get_mut(i).and_then(Option::take);
            let shares = if i == 0 { None } else { share_writers.next() };
            io_threads.push(
                std::thread::Builder::new()
                    .name(format!("onbeat-io-{i}"))
                    .spawn(move || {
                        let local = smol::LocalExecutor::new();
                        let _driver = hub.and_then(|build| build()).map(|run| local.spawn(run));
                        let _shares = shares.map(|write| local.spawn(write));
                        smol::block_on(local.run(ex.run(stopped.recv()))).map_or((), drop)
                    })?,
            );
        }
        let started = (0..hubs)
            .try_for_each(|_| match ready_rx.recv() {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
                Err(_) => Err(io::Error::other("a hub failed to start")),
            })
            .and_then(|()| {
                go_tx.close();
                (0..hubs).try_for_each(|_| {
                    synced_rx
                        .recv()
                        .map_err(|_| io::Error::other("a hub failed to start"))
                })
            });
        if let Err(e) = started {
            stop_io.close();
            for t in io_threads {
                let _ = t.join();
            }
            return Err(e);
        }
        let shared = Arc::new(Shared {
            config,
            clock,
            metrics,
            hubs: hub_txs,
            executor: Arc::downgrade(&executor),
            draining: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            next_anonymous: AtomicU64::new(1),
        });
        executor.spawn(dispatcher).detach();
        let accept = executor.spawn(accept_loop(listener, shared.clone()));
        tracing::info!(%addr, threads, hubs, assets = crate::assets::count(), "onbeat serving");
        Ok(Server {
            addr,
            shared,
            accept: Some(accept),
            executor: Some(executor),
            hub_done,
            io_threads,
            stop_io,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Graceful: stops accepting, sends every client `error shutting_down`
    /// and a close with 1012, waits up to the config's `drain_ms` for them
    /// to go, then stops every thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        tracing::info!("draining");
        self.shared.draining.store(true, Ordering::Relaxed);
        // Dropping the accept task closes the listener.
        smol::block_on(accept.cancel());
        for hub in &self.shared.hubs {
            let _ = hub.send_blocking(ToHub::Shutdown);
        }
        let deadline = StdInstant::now() + StdDuration::from_millis(self.shared.config.drain_ms);
        while self.shared.metrics.connections_open.get() > 0 && StdInstant::now() < deadline {
            std::thread::sleep(StdDuration::from_millis(5));
        }
        for hub in &self.shared.hubs {
            let _ = hub.send_blocking(ToHub::Stop);
        }
        // A hub's last messages are posted when it ends.
        for _ in &self.shared.hubs {
            let _ = self.hub_done.recv_timeout(StdDuration::from_secs(5));
        }
        self.stop_io.close();
        for t in self.io_threads.drain(..) {
            let _ = t.join();
        }
        // Drops every task still running, closing their sockets.
        self.executor.take();
        tracing::info!(left = self.shared.metrics.connections_open.get(), "stopped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                smol::Timer::after(StdDuration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if let Some(ex) = shared.executor.upgrade() {
            ex.spawn(serve_http(stream, shared.clone())).detach();
        }
    }
}

async fn serve_http(stream: TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |req| http::handle(req, shared.clone()));
    let result = http1::Builder::new()
        .serve_connection(FuturesIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(e) = result {
        tracing::debug!(error = %e, "http connection ended");
    }
}

/// The hub's limits from the config.
fn hub_config(config: &Config, clock: &ServerClock) -> HubConfig {
    let l = &config.limits;
    HubConfig {
        clock: clock.id(),
        max_frame: l.max_frame,
        max_sessions: l.max_sessions,
        max_pending: l.max_connections,
        hello_timeout: Duration::from_millis(l.hello_timeout_ms),
        grace: Duration::from_millis(l.grace_ms),
        queue_messages: l.queue_messages,
        queue_bytes: l.queue_bytes,
        max_subscriptions: l.max_subscriptions,
        input_rate: RateConfig {
            per_sec: l.inputs_per_sec,
            burst: l.inputs_burst,
        },
        publish_rate: RateConfig {
            per_sec: l.publishes_per_sec,
            burst: l.publishes_burst,
        },
        ..HubConfig::default()
    }
}
