//! The shape of one connection's tasks.

use onbeat_core::proto::MemberId;

use super::*;
use crate::mailbox::mailbox;
use crate::test_io::pair;
use crate::writer::write_task;

/// An idle connection is budgeted at 4 KiB in all (`docs/load.md`), and its
/// two tasks are most of what the server itself holds for it: a future
/// grows silently when a rare path's state is kept inline (a move to another
/// hub, unboxed, once added 440 bytes to every connection).
#[test]
fn an_idle_connection_s_tasks_stay_small() {
    let (socket, _client) = pair();
    let (hub, _hub_rx) = smol::channel::bounded(16);
    let shared = Shared::for_tests(hub);
    let user = MemberId::try_from("ana").unwrap();
    let reader = serve(
        socket.clone(),
        Vec::new(),
        WebSocketConfig::default(),
        Codec::Json,
        Ok(Capabilities::new(user)),
        shared.clone(),
    );
    let (_mailbox, inbox) = mailbox(0);
    let writer = write_task(socket, ConnId(1), Codec::Json, shared, inbox);
    assert!(
        size_of_val(&reader) <= 1024,
        "reader: {} bytes",
        size_of_val(&reader)
    );
    assert!(
        size_of_val(&writer) <= 448,
        "writer: {} bytes",
        size_of_val(&writer)
    );
}
