//! A server that sends its close frame but never ends the TCP connection:
//! the client reports the close with its code and reason and reconnects,
//! instead of sitting in a connection it can no longer write to.

use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::handshake::server::{Request, Response};
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use futures_util::StreamExt;
use onbeat_client::{Client, Codec, Event, Options};
use onbeat_core::dispatch::ClientConfig;
use smol::net::{TcpListener, TcpStream};

/// The longest wait for anything here; the client's own limit is 1 s.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts one WebSocket on `listener` with the JSON subprotocol.
#[expect(
    clippy::result_large_err,
    reason = "the handshake callback's error type is tungstenite's"
)]
async fn accept(listener: &TcpListener) -> async_tungstenite::WebSocketStream<TcpStream> {
    let (tcp, _) = listener.accept().await.expect("accept");
    let choose = |_: &Request, mut response: Response| {
        response.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(onbeat_core::proto::SUBPROTOCOL_JSON),
        );
        Ok(response)
    };
    async_tungstenite::accept_hdr_async(tcp, choose)
        .await
        .expect("handshake")
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    let timeout = async {
        smol::Timer::after(TIMEOUT).await;
        panic!("{what}: nothing within {TIMEOUT:?}");
    };
    smol::future::or(future, timeout).await
}

#[test]
fn a_server_that_keeps_the_socket_after_its_close_is_left_within_a_second() {
    smol::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        let mut options = Options::new(&url).codec(Codec::Json).seed(3);
        options.session = ClientConfig {
            backoff_base: onbeat_core::Duration::from_millis(20),
            ..ClientConfig::default()
        };
        let client = Client::connect(options);

        let mut first = within("first connection", accept(&listener)).await;
        let hello = within("hello", first.next()).await;
        assert!(matches!(hello, Some(Ok(Message::Text(_)))), "{hello:?}");
        let closed_at = Instant::now();
        first
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Policy,
                reason: "go away".into(),
            })))
            .await
            .unwrap();
        // `first` stays in scope, unread: its TCP connection stays open.

        let close = within("disconnected", async {
            loop {
                if let Some(Event::Disconnected { close }) = client.next_event().await {
                    break close;
                }
            }
        })
        .await
        .expect("the close frame's code and reason");
        let waited = closed_at.elapsed();
        assert_eq!((close.code, close.reason.as_str()), (1008, "go away"));
        assert!(waited < Duration::from_secs(3), "left after {waited:?}");

        // And it goes on: it connects again and says hello.
        let mut second = within("reconnect", accept(&listener)).await;
        let hello = within("second hello", second.next()).await;
        assert!(matches!(hello, Some(Ok(Message::Text(_)))), "{hello:?}");
        drop(first);
    });
}
