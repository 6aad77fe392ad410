//! Probe clusters: bursts sent faster than the target to find headroom, and
//! the rate each one proves (GCC's probe controller and probe bitrate
//! estimator, draft-ietf-rmcat-gcc §6 and libwebrtc).
//!
//! A cluster's rate is the smaller of its send rate and its receive rate:
//! if the bottleneck is slower than the probe, packets leave it at the
//! bottleneck's rate. The first packet's size is left out of the receive
//! rate and the last one's out of the send rate, as each marks an edge.

use heapless::Vec;

use super::rate::Bitrate;
use crate::time::{Duration, Instant};

/// Clusters tracked at once; a new request replaces the oldest.
pub const PROBE_CLUSTERS: usize = 4;
/// A cluster not judged within this long after it was requested is dropped.
const CLUSTER_EXPIRY: Duration = Duration::from_secs(2);
/// Fraction of a cluster's packets that must arrive for it to be judged.
const MIN_RECEIVED_FRACTION: f64 = 0.8;
/// A probe confirms its rate if it delivered at least this fraction of it.
const CONFIRM_FRACTION: f64 = 0.9;

/// A burst the pacer should send: `rate` for `duration`, at least
/// `min_packets` packets, each tagged with `id` in [`super::SentPacket::probe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    /// The cluster id to tag the packets with.
    pub id: u32,
    /// The rate to send at.
    pub rate: Bitrate,
    /// How long to send at it.
    pub duration: Duration,
    /// The fewest packets that make a judgeable cluster.
    pub min_packets: u32,
}

/// What a finished probe proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeOutcome {
    /// The cluster.
    pub id: u32,
    /// The rate it was sent at.
    pub requested: Bitrate,
    /// The rate it proved the path carries (`None` if too few packets arrived).
    pub measured: Option<Bitrate>,
    /// Whether the path carried (nearly) the requested rate.
    pub confirmed: bool,
}

#[derive(Clone, Copy, Debug)]
struct Cluster {
    req: ProbeRequest,
    created: Instant,
    sent: u32,
    sent_bytes: u64,
    last_sent_size: u32,
    first_send: Option<Instant>,
    last_send: Instant,
    received: u32,
    lost: u32,
    recv_bytes: u64,
    first_recv_size: u32,
    first_arrival: Option<Instant>,
    last_arrival: Instant,
}

/// The clusters in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct Probes {
    clusters: Vec<Cluster, PROBE_CLUSTERS>,
    next_id: u32,
}

impl Probes {
    /// Starts a cluster at `rate` and returns the request for the pacer.
    pub fn start(&mut self, rate: Bitrate, now: Instant) -> ProbeRequest {
        let req = ProbeRequest {
            id: self.next_id,
            rate,
            duration: Duration::from_millis(15),
            min_packets: 5,
        };
        self.next_id = self.next_id.wrapping_add(1);
        if self.clusters.is_full() {
            self.clusters.remove(0);
        }
        // Cannot fail: a slot was freed above if the list was full.
        let _ = self.clusters.push(Cluster {
            req,
            created: now,
            sent: 0,
            sent_bytes: 0,
            last_sent_size: 0,
            first_send: None,
            last_send: now,
            received: 0,
            lost: 0,
            recv_bytes: 0,
            first_recv_size: 0,
            first_arrival: None,
            last_arrival: now,
        });
        req
    }

    /// A packet of cluster `id` left the pacer.
    pub fn on_sent(&mut self, id: u32, size: u32, send: Instant) {
        if let Some(c) = self.clusters.iter_mut().find(|c| c.req.id == id) {
            c.sent = c.sent.saturating_add(1);
            c.sent_bytes += u64::from(size);
            c.last_sent_size = size;
            if c.first_send.is_none_or(|f| send < f) {
                c.first_send = Some(send);
            }
            c.last_send = c.last_send.max(send);
        }
    }

    /// Feedback for a packet of cluster `id`.
    pub fn on_result(&mut self, id: u32, size: u32, arrival: Option<Instant>) {
        let Some(c) = self.clusters.iter_mut().find(|c| c.req.id == id) else {
            return;
        };
        let Some(arrival) = arrival else {
            c.lost = c.lost.saturating_add(1);
            return;
        };
        c.received = c.received.saturating_add(1);
        c.recv_bytes += u64::from(size);
        match c.first_arrival {
            Some(f) if arrival >= f => c.last_arrival = c.last_arrival.max(arrival),
            _ => {
                c.first_arrival = Some(arrival);
                c.first_recv_size = size;
                c.last_arrival = c.last_arrival.max(arrival);
            }
        }
    }

    /// The next cluster whose packets have all been reported (or that
    /// expired), with its verdict; the cluster is forgotten.
    pub fn take_finished(&mut self, now: Instant) -> Option<ProbeOutcome> {
        let i = self.clusters.iter().position(|c| {
            let reported = c.received.saturating_add(c.lost);
            (c.sent >= c.req.min_packets && reported >= c.sent) || now >= c.created + CLUSTER_EXPIRY
        })?;
        let c = self.clusters.remove(i);
        let measured = measure(&c);
        let confirmed =
            measured.is_some_and(|m| m.as_f64() >= c.req.rate.as_f64() * CONFIRM_FRACTION);
        Some(ProbeOutcome {
            id: c.req.id,
            requested: c.req.rate,
            measured,
            confirmed,
        })
    }

    /// When the oldest cluster expires.
    pub fn expiry(&self) -> Option<Instant> {
        self.clusters
            .iter()
            .map(|c| c.created + CLUSTER_EXPIRY)
            .min()
    }
}

fn measure(c: &Cluster) -> Option<Bitrate> {
    let first_send = c.first_send?;
    let first_arrival = c.first_arrival?;
    if c.received < c.req.min_packets
        || f64::from(c.received) < f64::from(c.sent) * MIN_RECEIVED_FRACTION
    {
        return None;
    }
    let send_span = c
        .last_send
        .saturating_duration_since(first_send)
        .as_micros();
    let recv_span = c
        .last_arrival
        .saturating_duration_since(first_arrival)
        .as_micros();
    let send = Bitrate::from_bytes_over(
        c.sent_bytes.saturating_sub(u64::from(c.last_sent_size)),
        send_span,
    )?;
    let recv = Bitrate::from_bytes_over(
        c.recv_bytes.saturating_sub(u64::from(c.first_recv_size)),
        recv_span,
    )?;
    Some(send.min(recv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_through_a_slower_bottleneck_measures_the_bottleneck() {
        let mut p = Probes::default();
        let now = Instant::from_millis(1_000);
        let req = p.start(Bitrate::from_mbps(4), now);
        // 10 packets of 1000 bytes sent 2 ms apart (4 Mbit/s), leaving a
        // 2 Mbit/s bottleneck 4 ms apart.
        for i in 0..10u64 {
            p.on_sent(req.id, 1_000, now + Duration::from_millis(2 * i));
        }
        assert_eq!(p.take_finished(now), None, "nothing reported yet");
        for i in 0..10u64 {
            let arrival = Instant::from_millis(50_000 + 4 * i);
            p.on_result(req.id, 1_000, Some(arrival));
        }
        let out = p.take_finished(now + Duration::from_millis(100)).unwrap();
        let m = out.measured.unwrap().bps();
        assert!((1_900_000..=2_100_000).contains(&m), "{m}");
        assert!(!out.confirmed);
        assert_eq!(p.expiry(), None, "judged clusters are forgotten");
    }

    #[test]
    fn a_lossy_probe_proves_nothing_and_a_silent_one_expires() {
        let mut p = Probes::default();
        let now = Instant::ZERO;
        let a = p.start(Bitrate::from_mbps(1), now);
        for i in 0..10u64 {
            p.on_sent(a.id, 1_000, now + Duration::from_millis(8 * i));
            p.on_result(a.id, 1_000, (i < 5).then(|| Instant::from_millis(8 * i)));
        }
        let out = p.take_finished(now).unwrap();
        assert_eq!(out.measured, None);
        assert!(!out.confirmed);
        p.start(Bitrate::from_mbps(1), now);
        assert_eq!(p.take_finished(now + Duration::from_secs(1)), None);
        assert!(p.take_finished(now + CLUSTER_EXPIRY).is_some());
    }
}
