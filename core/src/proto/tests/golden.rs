//! The JSON examples in `docs/protocol.md` are exactly what the encoder
//! writes for the samples, in order, so the document cannot drift.

use alloc::vec::Vec;

use super::samples;
use crate::proto::codec::{decode_json, encode_json};
use crate::proto::{ClientMsg, ServerMsg};

const PROTOCOL_MD: &str = include_str!("../../../../docs/protocol.md");

/// The bodies of the fenced blocks opened with "```json <direction>".
fn examples(direction: &str) -> Vec<&'static str> {
    let fence = alloc::format!("```json {direction}\n");
    PROTOCOL_MD
        .split(fence.as_str())
        .skip(1)
        .map(|rest| rest.split("\n```").next().expect("split yields one").trim())
        .collect()
}

#[test]
fn client_examples_match_the_encoder() {
    let docs = examples("client");
    let samples = samples::client();
    assert_eq!(docs.len(), samples.len(), "one example per client message");
    for (doc, msg) in docs.iter().zip(&samples) {
        assert_eq!(*doc, encode_json(msg));
        assert_eq!(
            &decode_json::<ClientMsg>(doc.as_bytes()).expect("example decodes"),
            msg
        );
    }
}

#[test]
fn server_examples_match_the_encoder() {
    let docs = examples("server");
    let samples = samples::server();
    assert_eq!(docs.len(), samples.len(), "one example per server message");
    for (doc, msg) in docs.iter().zip(&samples) {
        assert_eq!(*doc, encode_json(msg));
        assert_eq!(
            &decode_json::<ServerMsg>(doc.as_bytes()).expect("example decodes"),
            msg
        );
    }
}

#[test]
fn other_examples_decode_as_documented() {
    for doc in examples("client-extra") {
        decode_json::<ClientMsg>(doc.as_bytes()).expect("example decodes");
    }
    for doc in examples("server-extra") {
        decode_json::<ServerMsg>(doc.as_bytes()).expect("example decodes");
    }
}
