//! The send time inside each payload, and reading it back.
//!
//! A payload is a JSON string, so that the JSON subprotocol carries it
//! verbatim: `"@<16 hex digits: µs since the tool started>xxxx…"`, padded to
//! the requested size. Publishers and subscribers run in one process and
//! share the start instant, so the difference is a publish-to-receive
//! latency on one monotonic clock.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The smallest payload that holds a stamp.
pub const MIN_PAYLOAD: usize = 19;

/// Microseconds since the tool started.
pub fn now_us() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    epoch.elapsed().as_micros() as u64
}

/// A payload of `len` bytes (at least [`MIN_PAYLOAD`]) stamped with `now_us()`.
pub fn write(buf: &mut Vec<u8>, len: usize) {
    buf.clear();
    buf.extend_from_slice(b"\"@");
    buf.extend_from_slice(format!("{:016x}", now_us()).as_bytes());
    buf.resize(len.max(MIN_PAYLOAD) - 1, b'x');
    buf.push(b'"');
}

/// The stamp of the first payload in `bytes` (a payload, or a frame that
/// embeds one).
pub fn read(bytes: &[u8]) -> Option<u64> {
    let at = bytes.windows(2).position(|w| w == b"\"@")? + 2;
    let hex = bytes.get(at..at + 16)?;
    let hex = std::str::from_utf8(hex).ok()?;
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_from_the_payload_and_from_a_frame_around_it() {
        let mut buf = Vec::new();
        write(&mut buf, 100);
        assert_eq!(buf.len(), 100);
        let stamp = read(&buf).expect("a stamp");
        assert!(stamp <= now_us());
        let frame = format!(
            "{{\"deliver\":{{\"topic\":\"load/0\",\"epoch\":1,\"offset\":0,\"at\":null,\"data\":{}}}}}",
            String::from_utf8(buf.clone()).unwrap()
        );
        assert_eq!(read(frame.as_bytes()), Some(stamp));
        assert!(serde_json::from_slice::<serde_json::Value>(&buf).is_ok());
        write(&mut buf, 1);
        assert_eq!(buf.len(), MIN_PAYLOAD);
        assert_eq!(read(b"{\"data\":\"plain\"}"), None);
    }
}
