//! HTTP routes and graceful shutdown.

mod common;

use std::time::Duration;

use common::*;
use onbeat_server::Server;

const T: Duration = Duration::from_secs(5);

#[test]
fn health_readiness_metrics_and_static_files() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        assert_eq!(get(&server, "/healthz").await.0, 200);
        let (status, _, body) = get(&server, "/readyz").await;
        assert_eq!((status, body.as_str()), (200, "ready"));
        let (status, head, body) = get(&server, "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/openmetrics-text")
        );
        assert!(body.contains("onbeat_connections_open"));
        assert_eq!(get(&server, "/no/such/file").await.0, 404);
        let (status, _, body) = get(&server, "/ws").await;
        assert_eq!(status, 400, "{body}");
        if onbeat_server::assets::get("/").is_some() {
            let (status, head, _) = get(&server, "/").await;
            assert_eq!(status, 200);
            let lower = head.to_ascii_lowercase();
            assert!(lower.contains("cache-control: public, max-age=300"));
            assert!(lower.contains("content-type: text/html"));
            let etag = &onbeat_server::assets::get("/").unwrap().etag;
            let (status, _, body) = http(
                &server,
                &format!("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"),
            )
            .await;
            assert_eq!((status, body.as_str()), (304, ""));
        } else {
            assert_eq!(get(&server, "/").await.0, 404);
        }
    });
    server.shutdown();
}

#[test]
fn shutdown_tells_every_client_to_come_back() {
    let server = Server::start(config()).unwrap();
    let (mut a, mut b) = smol::block_on(async {
        let mut a = open(&server, Open::default()).await.unwrap();
        hello(&mut a).await;
        let mut b = open_postcard(&server).await;
        postcard_hello(&mut b).await;
        (a, b)
    });
    let stopping = std::thread::spawn(move || server.shutdown());
    smol::block_on(async {
        let (code, error) = closed(&mut a, T).await;
        assert_eq!(code, 1012);
        assert_eq!(error.unwrap()["code"], "shutting_down");
        let mut last = None;
        let code = loop {
            match next(&mut b, T).await {
                Some(Got::Binary(f)) => last = Some(f),
                Some(Got::Closed(Some(c))) => break u16::from(c.code),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(code, 1012);
        // postcard error frame: variant 9, code shutting_down (9).
        assert_eq!(last.unwrap()[..2], [9, 9]);
    });
    stopping.join().unwrap();
}
