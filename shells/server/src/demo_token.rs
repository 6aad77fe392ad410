//! `POST /demo/token`: a player token for the demo room, for whoever asks,
//! when the config allows anonymous players.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, Caps, Claims};
use crate::demo;
use crate::http::Body;
use crate::server::Shared;

/// Longest player name.
pub const NAME_MAX: usize = 24;

#[derive(Deserialize)]
struct Request {
    name: String,
}

/// Whether `name` is 1–24 characters of `[A-Za-z0-9_-]`.
pub fn valid_name(name: &str) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The capabilities of a demo player: watch the room, pick.
pub fn player_caps() -> Caps {
    Caps {
        subscribe: vec![format!("{}/*", demo::ROOM)],
        publish: Vec::new(),
        input: vec![demo::ROOM.to_owned()],
    }
}

pub(crate) fn answer(body: &[u8], shared: &Shared) -> Response<Body> {
    if !shared.config.auth.anonymous_players || !shared.config.demo.enabled {
        return json_error(
            StatusCode::FORBIDDEN,
            "anonymous players are not allowed here",
        );
    }
    let Ok(Request { name }) = serde_json::from_slice::<Request>(body) else {
        return json_error(StatusCode::BAD_REQUEST, "expected {\"name\": \"...\"}");
    };
    if !valid_name(&name) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "name must be 1 to 24 characters of A-Z, a-z, 0-9, _ and -",
        );
    }
    let iat = shared.clock.unix_secs();
    let exp = iat + shared.config.auth.demo_token_ttl_s;
    let claims = Claims {
        sub: name.clone(),
        exp,
        iat,
        caps: player_caps(),
    };
    let token = auth::mint(shared.config.auth.secret.as_bytes(), &claims);
    json_response(
        StatusCode::OK,
        json!({"token": token, "user": name, "expires_at": exp}),
    )
}

/// `{"error": message}` with `status`.
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, json!({ "error": message }))
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        assert!(valid_name("alice"));
        assert!(valid_name("A_b-9"));
        assert!(valid_name(&"x".repeat(24)));
        assert!(!valid_name(""));
        assert!(!valid_name(&"x".repeat(25)));
        assert!(!valid_name("al ice"));
        assert!(!valid_name("élise"));
        assert!(!valid_name("a/b"));
    }
}
