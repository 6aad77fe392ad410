//! The reference: two str0m peers over the same bottleneck and simulated
//! time, the sender's media following str0m's own GCC estimate.
//!
//! str0m is sans-IO like onbeat's core: every datagram goes in with
//! `Input::Receive`, every timer with `Input::Timeout`, and `poll_output`
//! hands back datagrams, timers and events. The peers connect (ICE, DTLS,
//! SRTP) over an ideal 1 ms path before the run starts, then exchange real
//! SRTP/SRTCP through the run's links: RTP with the transport-wide sequence
//! extension one way, TWCC feedback the other, so GCC's delay and loss
//! controllers, probes and pacer all run as in a real sender. Media is
//! written as RTP (`write_rtp`), the way str0m's own BWE tests drive it, so
//! no codec payload needs faking beyond its size.

mod handshake;

use std::net::SocketAddr;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use onbeat_core::{Duration, Instant};
use str0m::bwe::{Bitrate, BweKind};
use str0m::format::Codec;
use str0m::media::{MediaKind, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, Ssrc};
use str0m::{Event, Input, Output, Rtc};

use super::layers::Layers;
use super::source::Source;
use super::world::{Backward, Flow, Forward, Out};
use handshake::{connect, install_crypto};

/// RTP, SRTP and header-extension bytes str0m adds to a payload, roughly, so
/// that a packet's size on the link matches the onbeat flow's.
const RTP_OVERHEAD: u32 = 50;
/// Simulated time zero, after the handshake, relative to the peers' clock base.
const START_OFFSET: StdDuration = StdDuration::from_secs(5);
/// str0m sometimes asks to be woken "now" again; this is the smallest step
/// time takes then (its own tests use the same floor).
const MIN_STEP: Duration = Duration::from_micros(100);

struct Peer {
    rtc: Rtc,
    wake: Instant,
    addr: SocketAddr,
}

/// Sender and receiver str0m peers carrying one video stream.
pub struct ReferenceFlow {
    tx: Peer,
    rx: Peer,
    base: StdInstant,
    source: Source,
    ssrc: Ssrc,
    pt: Pt,
    seq: u64,
    target_bps: f64,
    /// The allocator between str0m's estimate and the encoder, if any.
    layers: Option<Layers>,
    /// Errors str0m returned (a correct run has none).
    pub errors: u64,
}

impl ReferenceFlow {
    /// Connects two peers; the sender's GCC starts at `start_bps` and is told
    /// it may want up to `max_bps`.
    pub fn new(source: Source, start_bps: u64, max_bps: u64) -> Result<Self, String> {
        install_crypto();
        // Only a base for str0m's clock: every instant it sees is this plus
        // simulated time, so the wall clock never reaches a result.
        let base = StdInstant::now();
        let tx = Rtc::builder()
            .set_rtp_mode(true)
            .enable_bwe(Some(Bitrate::bps(start_bps)))
            .build(base);
        let rx = Rtc::builder().set_rtp_mode(true).build(base);
        let mut tx = Peer {
            rtc: tx,
            wake: Instant::ZERO,
            addr: ([10, 0, 0, 1], 1000).into(),
        };
        let mut rx = Peer {
            rtc: rx,
            wake: Instant::ZERO,
            addr: ([10, 0, 0, 2], 2000).into(),
        };
        connect(&mut tx, &mut rx, base)?;

        let mid = "vid".into();
        let (ssrc, rtx): (Ssrc, Ssrc) = (42.into(), 44.into());
        let mut api = tx.rtc.direct_api();
        api.declare_media(mid, MediaKind::Video);
        api.declare_stream_tx(ssrc, Some(rtx), mid, None);
        let mut api = rx.rtc.direct_api();
        api.declare_media(mid, MediaKind::Video);
        api.expect_stream_rx(ssrc, Some(rtx), mid, None);
        api.enable_twcc_feedback();
        tx.rtc
            .bwe()
            .set_bitrate(Bitrate::ZERO, Bitrate::bps(max_bps));
        let pt = tx
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt())
            .ok_or("str0m offers no VP8")?;
        tx.wake = Instant::ZERO;
        rx.wake = Instant::ZERO;
        Ok(ReferenceFlow {
            tx,
            rx,
            base: base + START_OFFSET,
            source,
            ssrc,
            pt,
            seq: 1,
            target_bps: start_bps as f64,
            layers: None,
            errors: 0,
        })
    }

    /// The same flow with `layers` choosing what the encoder sends from
    /// str0m's estimate (the allocator's wanted rate becomes str0m's desired
    /// bitrate, which its probes aim for).
    pub fn with_layers(mut self, layers: Layers, now: Instant) -> Self {
        self.layers = Some(layers);
        self.allocate(now);
        self
    }

    fn allocate(&mut self, now: Instant) {
        let Some(layers) = &mut self.layers else {
            return;
        };
        layers.estimate(self.target_bps, now);
        // str0m probes on its own schedule towards the desired rate.
        layers.take_probe();
        if let Some(desired) = layers.take_desired() {
            self.tx
                .rtc
                .bwe()
                .set_bitrate(Bitrate::ZERO, Bitrate::bps(desired.bps()));
        }
    }

    fn std(&self, t: Instant) -> StdInstant {
        self.base + StdDuration::from_micros(t.as_micros())
    }

    fn sim(&self, t: StdInstant) -> Instant {
        Instant::from_micros(t.saturating_duration_since(self.base).as_micros() as u64)
    }

    /// Drains the sender (`to_rx`) or the receiver's output.
    fn drain(&mut self, sender: bool, now: Instant, out: &mut Out) {
        loop {
            let peer = if sender { &mut self.tx } else { &mut self.rx };
            let output = match peer.rtc.poll_output() {
                Ok(o) => o,
                Err(_) => {
                    self.errors += 1;
                    let peer = if sender { &mut self.tx } else { &mut self.rx };
                    peer.wake = now + MIN_STEP;
                    return;
                }
            };
            match output {
                Output::Timeout(t) => {
                    let t = self.sim(t).max(now + MIN_STEP);
                    let peer = if sender { &mut self.tx } else { &mut self.rx };
                    peer.wake = t;
                    return;
                }
                Output::Transmit(t) => {
                    let bytes = t.contents.to_vec();
                    if sender {
                        out.forward
                            .push((bytes.len() as u32, Forward::Datagram(bytes)));
                    } else {
                        out.backward.push(Backward::Datagram(bytes));
                    }
                }
                Output::Event(Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })) => {
                    if sender {
                        self.target_bps = estimate.as_u64() as f64;
                        self.allocate(now);
                    }
                }
                Output::Event(_) => {}
            }
        }
    }

    fn encode(&mut self, now: Instant) {
        let target = match &mut self.layers {
            Some(layers) => {
                if layers.take_keyframe() {
                    self.source.want_keyframe();
                }
                layers.total_bps()
            }
            None => self.target_bps,
        };
        let (packets, _) = self.source.frame(target);
        let time = (now.as_micros() * 9 / 100) as u32;
        let wallclock = self.std(now);
        let last = packets.len().saturating_sub(1);
        let mut api = self.tx.rtc.direct_api();
        let Some(stream) = api.stream_tx(&self.ssrc) else {
            self.errors += 1;
            return;
        };
        for (i, size) in packets.into_iter().enumerate() {
            let payload = vec![0u8; size.saturating_sub(RTP_OVERHEAD).max(1) as usize];
            stream.write_rtp(
                RtpWrite::new(self.pt, self.seq.into(), time, wallclock, payload)
                    .marker(i == last)
                    .nackable(true),
            );
            self.seq += 1;
        }
    }

    fn receive(&mut self, sender: bool, bytes: &[u8], now: Instant) {
        let at = self.std(now);
        let (peer, from) = if sender {
            (&mut self.tx, self.rx.addr)
        } else {
            (&mut self.rx, self.tx.addr)
        };
        let Ok(contents) = bytes.try_into() else {
            self.errors += 1;
            return;
        };
        let input = Input::Receive(
            at,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: peer.addr,
                contents,
            },
        );
        if peer.rtc.handle_input(input).is_err() {
            self.errors += 1;
        }
    }

    fn timeout(&mut self, sender: bool, now: Instant) {
        let at = self.std(now);
        let peer = if sender { &mut self.tx } else { &mut self.rx };
        if peer.rtc.handle_input(Input::Timeout(at)).is_err() {
            self.errors += 1;
        }
    }
}

impl Flow for ReferenceFlow {
    fn wake_at(&self) -> Option<Instant> {
        let layers = self.layers.as_ref().and_then(Layers::wake_at);
        let peers = self
            .tx
            .wake
            .min(self.rx.wake)
            .min(self.source.next_frame_at());
        Some(layers.map_or(peers, |l| l.min(peers)))
    }

    fn wake(&mut self, now: Instant, out: &mut Out) {
        if let Some(layers) = &mut self.layers
            && layers.wake_at().is_some_and(|t| t <= now)
        {
            layers.wake(now);
            self.allocate(now);
        }
        if self.source.next_frame_at() <= now {
            self.encode(now);
            self.timeout(true, now);
            self.drain(true, now, out);
        }
        if self.tx.wake <= now {
            self.timeout(true, now);
            self.drain(true, now, out);
        }
        if self.rx.wake <= now {
            self.timeout(false, now);
            self.drain(false, now, out);
        }
    }

    fn at_receiver(&mut self, packet: Forward, now: Instant, out: &mut Out) {
        if let Forward::Datagram(bytes) = packet {
            self.receive(false, &bytes, now);
            self.drain(false, now, out);
        }
    }

    fn at_sender(&mut self, message: Backward, now: Instant, out: &mut Out) {
        if let Backward::Datagram(bytes) = message {
            self.receive(true, &bytes, now);
            self.drain(true, now, out);
        }
    }

    fn target_bps(&self) -> Option<f64> {
        Some(self.target_bps)
    }

    fn errors(&self) -> u64 {
        self.errors
    }

    fn layers(&self) -> Option<&Layers> {
        self.layers.as_ref()
    }
}
