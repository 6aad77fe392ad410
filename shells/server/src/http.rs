//! HTTP routes: static files, `/ws` upgrades, `/demo/token`, `/metrics`,
//! `/healthz`, `/readyz`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use onbeat_core::dispatch::hub::{Capabilities, Codec};
use onbeat_core::proto::{SUBPROTOCOL_JSON, SUBPROTOCOL_POSTCARD};
use smol::net::TcpStream;
use smol_hyper::rt::FuturesIo;

use crate::server::Shared;
use crate::{assets, auth, demo_token, ws};

/// The response body of every route.
pub(crate) type Body = Full<Bytes>;

/// Routes one request.
pub(crate) async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, Infallible> {
    let route = match (req.method(), req.uri().path()) {
        (_, "/ws") => "ws",
        (&Method::GET, "/healthz") => "healthz",
        (&Method::GET, "/readyz") => "readyz",
        (&Method::GET, "/metrics") => "metrics",
        (_, "/demo/token") => "demo_token",
        (&Method::GET | &Method::HEAD, _) => "static",
        _ => "other",
    };
    shared
        .metrics
        .http_requests
        .get_or_create(&crate::metrics::Reason { reason: route })
        .inc();
    let response = match route {
        "ws" => upgrade(req, shared),
        "healthz" => text(StatusCode::OK, "ok"),
        "readyz" if shared.draining.load(Ordering::Relaxed) => {
            text(StatusCode::SERVICE_UNAVAILABLE, "draining")
        }
        "readyz" => text(StatusCode::OK, "ready"),
        "metrics" => {
            let mut r = Response::new(Full::from(shared.metrics.render()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        "demo_token" if req.method() == Method::POST => {
            let body = Limited::new(req.into_body(), 1024).collect().await;
            match body {
                Ok(body) => demo_token::answer(&body.to_bytes(), &shared),
                Err(_) => demo_token::json_error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            }
        }
        "static" => static_file(&req),
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
    };
    Ok(response)
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn static_file(req: &Request<Incoming>) -> Response<Body> {
    let Some(asset) = assets::get(req.uri().path()) else {
        return text(StatusCode::NOT_FOUND, "not found");
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    let mut r = if fresh {
        let mut r = Response::new(Full::default());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else if req.method() == Method::HEAD {
        Response::new(Full::default())
    } else {
        Response::new(Full::from(Bytes::from_static(asset.body)))
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(assets::CACHE_CONTROL),
    );
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    r
}

/// Checks a WebSocket upgrade and, if it may proceed, answers 101 and hands
/// the socket to [`ws::serve`] once hyper lets go of it.
fn upgrade(mut req: Request<Incoming>, shared: Arc<Shared>) -> Response<Body> {
    let refuse = |status, reason: &'static str, body| {
        shared
            .metrics
            .upgrades_refused
            .get_or_create(&crate::metrics::Reason { reason })
            .inc();
        text(status, body)
    };
    let headers = req.headers();
    let is_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = headers.get(header::SEC_WEBSOCKET_KEY).cloned();
    let version_ok = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let (Some(key), true, true) = (key, is_upgrade, version_ok) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "not_websocket",
            "expected a WebSocket upgrade (version 13)",
        );
    };
    if shared.draining.load(Ordering::Relaxed) {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "server stopping",
        );
    }
    if shared.metrics.connections_open.get() as usize >= shared.config.limits.max_connections {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "full",
            "too many connections",
        );
    }
    if !origin_allowed(&req, &shared.config.auth.allowed_origins) {
        return refuse(StatusCode::FORBIDDEN, "origin", "origin not allowed");
    }
    let Some((codec, protocol)) = subprotocol(&req) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "subprotocol",
            "offer onbeat.json.v1 or onbeat.postcard.v1",
        );
    };
    let caps = credential(&req, &shared);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let config = WebSocketConfig::default()
        .max_message_size(Some(shared.config.limits.max_frame as usize))
        .max_frame_size(Some(shared.config.limits.max_frame as usize))
        .read_buffer_size(shared.config.limits.read_buffer_bytes.max(64))
        // It writes only control frames (see `socket`), each at once.
        .write_buffer_size(0);
    let task_shared = shared.clone();
    let Some(executor) = shared.executor.upgrade() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "server stopping",
        );
    };
    executor
        .spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(u) => u,
                Err(e) => {
                    tracing::debug!(error = %e, "upgrade failed");
                    return;
                }
            };
            // The connection was served on a `FuturesIo<TcpStream>`; getting
            // it back lets the WebSocket layer use the socket directly.
            let Ok(parts) = upgraded.downcast::<FuturesIo<TcpStream>>() else {
                tracing::error!("upgraded connection of an unexpected type");
                return;
            };
            // `read_buf` shares hyper's whole read buffer (8 KiB); only the
            // bytes after the request are kept, and the rest freed here
            // rather than at the end of the connection.
            let (stream, early) = (parts.io.into_inner(), parts.read_buf.to_vec());
            drop(parts.read_buf);
            // A task of its own, so that what the upgrade needed is freed
            // rather than kept for the connection's life.
            let serving = ws::serve(
                stream.into(),
                early,
                config,
                codec,
                caps,
                task_shared.clone(),
            );
            if let Some(ex) = task_shared.executor.upgrade() {
                ex.spawn(serving).detach();
            }
        })
        .detach();
    let mut r = Response::new(Full::default());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(protocol) = protocol {
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(protocol),
        );
    }
    r
}

/// The codec of the first onbeat subprotocol offered, and the name to echo.
/// A client that offers none speaks JSON; one that offers only others is
/// refused.
fn subprotocol(req: &Request<Incoming>) -> Option<(Codec, Option<&'static str>)> {
    let mut offered = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .peekable();
    if offered.peek().is_none() {
        return Some((Codec::Json, None));
    }
    offered.find_map(|p| match p {
        SUBPROTOCOL_JSON => Some((Codec::Json, Some(SUBPROTOCOL_JSON))),
        SUBPROTOCOL_POSTCARD => Some((Codec::Postcard, Some(SUBPROTOCOL_POSTCARD))),
        _ => None,
    })
}

/// Whether the request's `Origin` (if any) may open a WebSocket: listed in
/// `allowed` (or `allowed` has `*`), or, with an empty list, the page's own
/// origin (its host is the `Host` the request went to).
pub(crate) fn origin_allowed(req: &Request<Incoming>, allowed: &[String]) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if allowed.is_empty() {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok());
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return host.is_some() && origin_host == host;
    }
    allowed.iter().any(|a| a == "*" || a == origin)
}

/// The capabilities of the request's token (`?token=` or `Authorization:
/// Bearer`), the anonymous viewer's without one, or why it is refused.
fn credential(req: &Request<Incoming>, shared: &Shared) -> Result<Capabilities, String> {
    let from_query = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .filter(|t| !t.is_empty())
    });
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = from_query.or(from_header) else {
        return shared.anonymous();
    };
    let secret = shared.config.auth.secret.as_bytes();
    let claims =
        auth::verify(secret, token, shared.clock.unix_secs()).map_err(|e| e.to_string())?;
    let caps = claims.capabilities().map_err(|e| e.to_string())?;
    Ok(caps.expires_at(shared.clock.at_unix_secs(claims.exp)))
}
