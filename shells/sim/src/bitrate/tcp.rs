//! A TCP-like bulk flow: Reno's slow start, congestion avoidance and halving
//! on loss (NewReno's partial acknowledgements, RFC 6582), clocked by a
//! cumulative acknowledgement per segment, with a retransmission timer
//! (RFC 6298). It stands for the greedy cross traffic a media flow must
//! share a bottleneck with.

use std::collections::BTreeSet;

use onbeat_core::{Duration, Instant};

use super::world::{Backward, Flow, Forward, Out};

/// Bytes of one segment on the wire.
pub const SEGMENT: u32 = 1500;
const MIN_RTO: Duration = Duration::from_millis(200);
const INITIAL_RTO: Duration = Duration::from_secs(1);

/// Sender and receiver of one bulk transfer that never runs out of data.
#[derive(Debug)]
pub struct TcpFlow {
    /// Congestion window, segments.
    cwnd: f64,
    ssthresh: f64,
    /// Oldest unacknowledged segment and next new one.
    una: u64,
    next: u64,
    /// Send time of segments in flight (index `seq - una`), `None` once
    /// retransmitted (Karn: no RTT sample from those).
    sent: std::collections::VecDeque<Option<Instant>>,
    dupacks: u32,
    /// Fast recovery lasts until everything sent before the loss is acknowledged.
    recover: Option<u64>,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto_at: Option<Instant>,
    /// Consecutive timeouts: each doubles the timer (RFC 6298, 5.5).
    backoff: u32,
    /// Receiver: next in-order segment and those that arrived beyond it.
    expected: u64,
    beyond: BTreeSet<u64>,
    /// Times the window was halved or reset.
    pub congestion_events: u64,
}

impl Default for TcpFlow {
    fn default() -> Self {
        Self::new()
    }
}

impl TcpFlow {
    /// A flow in slow start with an initial window of 10 segments (RFC 6928).
    pub fn new() -> Self {
        TcpFlow {
            cwnd: 10.0,
            ssthresh: f64::INFINITY,
            una: 0,
            next: 0,
            sent: std::collections::VecDeque::new(),
            dupacks: 0,
            recover: None,
            srtt: None,
            rttvar: Duration::ZERO,
            rto_at: None,
            backoff: 0,
            expected: 0,
            beyond: BTreeSet::new(),
            congestion_events: 0,
        }
    }

    /// The congestion window, segments.
    pub fn cwnd(&self) -> f64 {
        self.cwnd
    }

    fn rto(&self) -> Duration {
        let base = match self.srtt {
            Some(srtt) => (srtt + self.rttvar.saturating_mul(4)).max(MIN_RTO),
            None => INITIAL_RTO,
        };
        base.saturating_mul(1 << self.backoff.min(6))
    }

    fn transmit(&mut self, seq: u64, now: Instant, out: &mut Out) {
        out.forward.push((SEGMENT, Forward::Segment { seq }));
        if self.rto_at.is_none() {
            self.rto_at = Some(now + self.rto());
        }
    }

    fn send_window(&mut self, now: Instant, out: &mut Out) {
        while ((self.next - self.una) as f64) < self.cwnd.floor().max(1.0) {
            let seq = self.next;
            self.next += 1;
            self.sent.push_back(Some(now));
            self.transmit(seq, now, out);
        }
    }

    fn retransmit_first(&mut self, now: Instant, out: &mut Out) {
        if let Some(slot) = self.sent.front_mut() {
            *slot = None;
        }
        let una = self.una;
        self.transmit(una, now, out);
    }

    fn sample_rtt(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = Duration::from_micros(rtt.as_micros() / 2);
            }
            Some(srtt) => {
                let diff = srtt.as_micros().abs_diff(rtt.as_micros());
                self.rttvar = Duration::from_micros((3 * self.rttvar.as_micros() + diff) / 4);
                self.srtt = Some(Duration::from_micros(
                    (7 * srtt.as_micros() + rtt.as_micros()) / 8,
                ));
            }
        }
    }

    fn on_ack(&mut self, next: u64, now: Instant, out: &mut Out) {
        if next > self.una {
            let newly = next - self.una;
            // After going back N, the receiver may already hold segments
            // beyond what is being resent.
            self.next = self.next.max(next);
            self.backoff = 0;
            let mut sample = None;
            for _ in 0..newly {
                if let Some(Some(at)) = self.sent.pop_front() {
                    sample = Some(now - at);
                }
            }
            if let Some(rtt) = sample {
                self.sample_rtt(rtt);
            }
            self.una = next;
            self.dupacks = 0;
            self.rto_at = (self.una < self.next).then(|| now + self.rto());
            match self.recover {
                Some(r) if next < r => {
                    // A partial acknowledgement: the next hole was lost too.
                    self.retransmit_first(now, out);
                }
                Some(_) => self.recover = None,
                None if self.cwnd < self.ssthresh => self.cwnd += newly as f64,
                None => self.cwnd += newly as f64 / self.cwnd,
            }
        } else if next == self.una && self.una < self.next {
            self.dupacks += 1;
            if self.dupacks == 3 && self.recover.is_none() {
                self.congestion_events += 1;
                self.ssthresh = (self.cwnd / 2.0).max(2.0);
                self.cwnd = self.ssthresh;
                self.recover = Some(self.next);
                self.retransmit_first(now, out);
            }
        }
        self.send_window(now, out);
    }
}

impl Flow for TcpFlow {
    fn wake_at(&self) -> Option<Instant> {
        if self.next == 0 {
            return Some(Instant::ZERO);
        }
        self.rto_at
    }

    fn wake(&mut self, now: Instant, out: &mut Out) {
        if self.rto_at.is_some_and(|t| t <= now) {
            // Everything in flight is presumed lost: start again from one segment.
            self.congestion_events += 1;
            self.ssthresh = ((self.next - self.una) as f64 / 2.0).max(2.0);
            self.cwnd = 1.0;
            self.recover = Some(self.next);
            self.backoff += 1;
            self.rto_at = None;
            // Go back N: resend from the first unacknowledged segment.
            self.next = self.una;
            self.sent.clear();
            self.dupacks = 0;
        }
        self.send_window(now, out);
    }

    fn at_receiver(&mut self, packet: Forward, _: Instant, out: &mut Out) {
        let Forward::Segment { seq } = packet else {
            return;
        };
        if seq == self.expected {
            self.expected += 1;
            while self.beyond.remove(&self.expected) {
                self.expected += 1;
            }
        } else if seq > self.expected {
            self.beyond.insert(seq);
        }
        out.backward.push(Backward::Ack {
            next: self.expected,
        });
    }

    fn at_sender(&mut self, message: Backward, now: Instant, out: &mut Out) {
        if let Backward::Ack { next } = message {
            self.on_ack(next, now, out);
        }
    }

    fn target_bps(&self) -> Option<f64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One round trip: every segment in `out` not in `lost` reaches the
    /// receiver, every ACK it sends reaches the sender at `now`, which puts
    /// its next segments back in `out`.
    fn round(tcp: &mut TcpFlow, out: &mut Out, lost: &[u64], now: Instant) -> Vec<u64> {
        let mut acks = Out::default();
        let mut seqs = Vec::new();
        for (_, packet) in out.forward.drain(..) {
            let Forward::Segment { seq } = packet else {
                panic!("not a segment");
            };
            seqs.push(seq);
            if !lost.contains(&seq) {
                tcp.at_receiver(packet, now, &mut acks);
            }
        }
        for ack in acks.backward.drain(..) {
            tcp.at_sender(ack, now, out);
        }
        seqs
    }

    #[test]
    fn the_window_halves_on_a_loss_then_grows_by_one_per_round() {
        let mut tcp = TcpFlow::new();
        let mut out = Out::default();
        tcp.wake(Instant::ZERO, &mut out);
        assert_eq!(out.forward.len(), 10);
        // Slow start: every ACKed segment adds one, so the window doubles.
        let rtt = Duration::from_millis(100);
        let mut now = Instant::ZERO + rtt;
        round(&mut tcp, &mut out, &[], now);
        assert_eq!(tcp.cwnd(), 20.0);
        now += rtt;
        let sent = round(&mut tcp, &mut out, &[], now);
        assert_eq!((sent, tcp.cwnd()), ((10..30).collect(), 40.0));
        // Segment 35 of the next 40 is lost: 30 to 34 still grow the window
        // to 45, then the ACKs repeat 35, and the third duplicate halves the
        // window and resends 35.
        now += rtt;
        let sent = round(&mut tcp, &mut out, &[35], now);
        assert_eq!(sent, (30..70).collect::<Vec<_>>());
        assert_eq!((tcp.cwnd(), tcp.congestion_events), (22.5, 1));
        let resent = out
            .forward
            .iter()
            .filter(|p| matches!(p.1, Forward::Segment { seq: 35 }));
        assert_eq!(resent.count(), 1);
        // The hole filled, recovery ends at the halved window; a round
        // without loss then adds about one segment, not one per ACK.
        now += rtt;
        round(&mut tcp, &mut out, &[], now);
        assert_eq!((tcp.cwnd(), tcp.una), (22.5, 80));
        now += rtt;
        let sent = round(&mut tcp, &mut out, &[], now);
        assert_eq!(sent.len(), 22);
        assert!((tcp.cwnd() - 23.46).abs() < 0.01, "{}", tcp.cwnd());
        assert_eq!(tcp.congestion_events, 1);
    }
}
