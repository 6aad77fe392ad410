//! The text encoding: JSON, one message per frame.

use alloc::string::String;

use serde_json::error::Category;

use super::cause::{self, Cause};
use super::{DEFAULT_MAX_FRAME, DecodeError, MAX_JSON_DEPTH, Message, check_size, refused};

/// Encodes `msg` as compact JSON.
pub fn encode_json<'m, M: Message<'m>>(msg: &M) -> String {
    // Serializing to a string fails only for maps with non-string keys or a
    // failing `Serialize` impl; messages have neither (`Payload`'s JSON form
    // cannot fail with `alloc`).
    serde_json::to_string(msg).expect("messages always serialize to JSON")
}

/// Decodes one JSON frame of at most [`DEFAULT_MAX_FRAME`] bytes. Verbatim
/// JSON payloads borrow from `frame`.
pub fn decode_json<'a, M: Message<'a>>(frame: &'a [u8]) -> Result<M, DecodeError> {
    decode_json_limited(frame, DEFAULT_MAX_FRAME)
}

/// Decodes one JSON frame of at most `max_frame` bytes.
pub fn decode_json_limited<'a, M: Message<'a>>(
    frame: &'a [u8],
    max_frame: usize,
) -> Result<M, DecodeError> {
    check_size(frame, max_frame)?;
    if json_depth(frame, MAX_JSON_DEPTH).is_none() {
        return Err(DecodeError::TooDeep);
    }
    let mut de = serde_json::Deserializer::from_slice(frame);
    let msg = cause::deserialize(&mut de).map_err(|(e, cause)| match cause {
        Cause::Format => format_error(&e),
        Cause::Refused(call) => refused(call),
    })?;
    de.end().map_err(|e| format_error(&e))?;
    Ok(msg)
}

fn format_error(e: &serde_json::Error) -> DecodeError {
    match e.classify() {
        Category::Eof => DecodeError::Truncated,
        Category::Syntax | Category::Io => DecodeError::Malformed,
        Category::Data => DecodeError::Invalid,
    }
}

/// The deepest nesting of arrays and objects in `json`, or `None` if it
/// exceeds `limit`. Only brackets outside strings count; the text need not be
/// valid JSON, since this runs before the parser to bound its recursion.
pub(crate) fn json_depth(json: &[u8], limit: usize) -> Option<usize> {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut rest = json;
    // Jumps from one byte that matters to the next: most of a frame is
    // string contents and scalars, skipped by a tight search.
    while let Some(i) = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'{' | b'[' | b'}' | b']'))
    {
        let b = rest[i];
        rest = &rest[i + 1..];
        match b {
            b'"' => rest = after_string(rest),
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return None;
                }
                deepest = deepest.max(depth);
            }
            _ => depth = depth.saturating_sub(1),
        }
    }
    Some(deepest)
}

/// What follows the string whose opening quote precedes `s` (nothing if it
/// is not closed).
fn after_string(mut s: &[u8]) -> &[u8] {
    while let Some(i) = s.iter().position(|&b| b == b'"' || b == b'\\') {
        if s[i] == b'"' {
            return &s[i + 1..];
        }
        // An escape: skip the escaped byte too.
        s = s.get(i + 2..).unwrap_or_default();
    }
    &[]
}

#[cfg(test)]
mod tests {
    use super::json_depth;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert_eq!(json_depth(b"", 4), Some(0));
        assert_eq!(json_depth(br#"{"a":[1,{"b":2}]}"#, 4), Some(3));
        assert_eq!(json_depth(br#"{"a":"[[[{{{"}"#, 4), Some(1));
        assert_eq!(json_depth(br#"{"a\"[[":"\\",  "b":[[]]}"#, 4), Some(3));
        assert_eq!(json_depth(br#"[[[[[]]]]]"#, 4), None);
        assert_eq!(json_depth(br#"["unclosed [[[[[[ \"#, 4), Some(1));
        assert_eq!(json_depth(b"]]]{", 4), Some(1));
    }
}
