//! Counters served at `/metrics` in the Prometheus text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A label naming an error code or a close reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// The code or reason, e.g. `bad_frame` or `slow_consumer`.
    pub reason: &'static str,
}

/// Every counter the server keeps. Shared by all threads; each update is one
/// atomic operation.
#[derive(Default)]
pub struct Metrics {
    /// WebSocket connections accepted (upgraded) so far.
    pub connections_opened: Counter,
    /// WebSocket connections open now.
    pub connections_open: Gauge,
    /// Upgrades refused before the WebSocket opened (origin, capacity).
    pub upgrades_refused: Family<Reason, Counter>,
    /// WebSocket messages received from clients.
    pub frames_in: Counter,
    /// Bytes of WebSocket messages received from clients.
    pub bytes_in: Counter,
    /// WebSocket messages sent to clients (each delivery is one).
    pub frames_out: Counter,
    /// Payload bytes sent to clients.
    pub bytes_out: Counter,
    /// Socket writes (flushes); frames_out / writes is the coalescing factor.
    pub writes: Counter,
    /// Batches the hub's side began and the socket did not take at once,
    /// finished by the connection's writer once the socket took more.
    pub writes_handed_over: Counter,
    /// `error` frames sent, by code.
    pub errors: Family<Reason, Counter>,
    /// Connections closed, by reason.
    pub closes: Family<Reason, Counter>,
    /// Sessions in the hubs (connected or within their grace).
    pub hub_sessions: Gauge,
    /// Timed publishes held by the hubs.
    pub hub_timed: Gauge,
    /// Messages one hub passed another (forwarded publishes, replicated
    /// appends, topic opens), counted where they arrive.
    pub peer_messages_in: Counter,
    /// Frames pulled from the hub's queues and not yet written.
    pub hub_pulled_unwritten: Gauge,
    /// HTTP requests served, by route.
    pub http_requests: Family<Reason, Counter>,
}

impl Metrics {
    /// Counts one `error` frame with `code`.
    pub fn error(&self, code: &'static str) {
        self.errors.get_or_create(&Reason { reason: code }).inc();
    }

    /// Counts one connection closed for `reason`.
    pub fn close(&self, reason: &'static str) {
        self.closes.get_or_create(&Reason { reason }).inc();
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut registry = Registry::with_prefix("onbeat");
        let r = &mut registry;
        r.register(
            "connections_opened",
            "WebSocket connections accepted",
            self.connections_opened.clone(),
        );
        r.register(
            "connections_open",
            "WebSocket connections open now",
            self.connections_open.clone(),
        );
        r.register(
            "upgrades_refused",
            "WebSocket upgrades refused before opening",
            self.upgrades_refused.clone(),
        );
        r.register("frames_in", "Messages received", self.frames_in.clone());
        r.register("bytes_in", "Bytes received", self.bytes_in.clone());
        r.register("frames_out", "Messages sent", self.frames_out.clone());
        r.register("bytes_out", "Bytes sent", self.bytes_out.clone());
        r.register("writes", "Coalesced socket writes", self.writes.clone());
        r.register(
            "writes_handed_over",
            "Batches left to the connection's writer to finish",
            self.writes_handed_over.clone(),
        );
        r.register("errors", "Error frames sent by code", self.errors.clone());
        r.register(
            "closes",
            "Connections closed by reason",
            self.closes.clone(),
        );
        r.register(
            "hub_sessions",
            "Sessions in the hubs",
            self.hub_sessions.clone(),
        );
        r.register("hub_timed", "Timed publishes held", self.hub_timed.clone());
        r.register(
            "peer_messages",
            "Messages between hubs, counted where they arrive",
            self.peer_messages_in.clone(),
        );
        r.register(
            "hub_pulled_unwritten",
            "Frames taken from hub queues, not yet written",
            self.hub_pulled_unwritten.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests by route",
            self.http_requests.clone(),
        );
        let mut out = String::new();
        // Writing into a String cannot fail.
        prometheus_client::encoding::text::encode(&mut out, &registry)
            .expect("encoding into a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_appear_in_the_text_format() {
        let m = Metrics::default();
        m.error("bad_frame");
        m.error("bad_frame");
        m.close("slow_consumer");
        m.frames_out.inc_by(3);
        let text = m.render();
        assert!(
            text.contains("onbeat_errors_total{reason=\"bad_frame\"} 2"),
            "{text}"
        );
        assert!(text.contains("onbeat_closes_total{reason=\"slow_consumer\"} 1"));
        assert!(text.contains("onbeat_frames_out_total 3"));
    }
}
