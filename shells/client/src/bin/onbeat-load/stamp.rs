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
    let at = bytes.windows(2).position(|w| w == b"\"@")?;
    stamp_at(bytes, at)
}

/// The stamp of a payload of `len` bytes, which it starts if it is one of
/// the tool's: the cheap path for NATS, whose `MSG` carries it verbatim.
pub fn read_at(payload: &[u8], len: usize) -> Option<u64> {
    match payload.len() == len.max(MIN_PAYLOAD) {
        true => stamp_at(payload, 0),
        false => read(payload),
    }
}

/// The stamp of a `deliver` frame carrying a payload of `len` bytes, looked
/// for where the payload sits when it is the frame's last field: before the
/// closing `}}` in JSON, at the very end in postcard. `None` for any other
/// frame (the caller then decodes it).
pub fn in_frame(frame: &[u8], len: usize) -> Option<u64> {
    let len = len.max(MIN_PAYLOAD);
    if frame.starts_with(b"{\"deliver\"") && frame.ends_with(b"}}") {
        return stamp_at(frame, frame.len().checked_sub(len + 2)?);
    }
    stamp_at(frame, frame.len().checked_sub(len)?)
}

/// The stamp `"@<16 hex digits>` at `at`, if there is one.
fn stamp_at(bytes: &[u8], at: usize) -> Option<u64> {
    let stamp = bytes.get(at..at + 18)?;
    if &stamp[..2] != b"\"@" {
        return None;
    }
    stamp[2..].iter().try_fold(0u64, |v, &c| {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        Some(v << 4 | u64::from(digit))
    })
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
        assert_eq!(in_frame(frame.as_bytes(), 100), Some(stamp));
        assert_eq!(read_at(&buf, 100), Some(stamp));
        let mut postcard = vec![3, 1, 2, 100];
        postcard.extend_from_slice(&buf);
        assert_eq!(in_frame(&postcard, 100), Some(stamp));
        assert_eq!(in_frame(&postcard, 99), None);
        assert!(serde_json::from_slice::<serde_json::Value>(&buf).is_ok());
        write(&mut buf, 1);
        assert_eq!(buf.len(), MIN_PAYLOAD);
        assert_eq!(read(b"{\"data\":\"plain\"}"), None);
    }
}
