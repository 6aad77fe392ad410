//! The mailbox's promises: order, the end of the inbox with the last
//! handle, the bound on control bytes, refusal once the writer has given
//! up, and the rest of a batch never seen without the turn.

use super::*;

fn control(m: Option<ToConn>) -> Vec<u8> {
    match m {
        Some(ToConn::Control(bytes)) => bytes,
        _ => panic!("expected control bytes"),
    }
}

#[test]
fn messages_arrive_in_order_and_the_inbox_ends_with_the_last_handle() {
    let (mailbox, inbox) = mailbox(0);
    let other = mailbox.clone();
    let pongs = mailbox.control();
    pongs.post(b"a");
    other.post(ToConn::Frames(Vec::new()));
    pongs.post(b"b");
    drop(mailbox);
    smol::block_on(async {
        assert_eq!(control(inbox.recv().await), b"a");
        assert!(matches!(inbox.recv().await, Some(ToConn::Frames(_))));
        assert_eq!(control(inbox.recv().await), b"b");
        let waiting = smol::spawn(async move { inbox.recv().await.is_none() });
        smol::Timer::after(std::time::Duration::from_millis(10)).await;
        drop(other);
        assert!(
            waiting.await,
            "the inbox ends once every handle is gone, whatever control handles live"
        );
        drop(pongs);
    });
}

#[test]
fn control_bytes_past_the_limit_are_dropped_until_the_writer_takes_some() {
    let (mailbox, inbox) = mailbox(0);
    let pongs = mailbox.control();
    let pong = [0u8; 100];
    for _ in 0..2 * CONTROL_LIMIT / pong.len() {
        pongs.post(&pong);
    }
    drop(mailbox);
    smol::block_on(async {
        let mut taken = 0;
        while let Some(msg) = inbox.recv().await {
            taken += control(Some(msg)).len();
            if taken == 200 {
                pongs.post(&pong);
            }
        }
        assert_eq!(taken, CONTROL_LIMIT / pong.len() * pong.len() + pong.len());
    });
}

#[test]
fn a_pong_put_back_still_counts_once_toward_the_limit() {
    let (mailbox, inbox) = mailbox(0);
    let pongs = mailbox.control();
    pongs.post(&[0u8; 10]);
    smol::block_on(async {
        let pong = inbox.recv().await.unwrap();
        inbox.put_back(pong);
        assert_eq!(control(inbox.recv().await).len(), 10);
    });
    // Nothing waits now: a full limit's worth is taken.
    pongs.post(&[0u8; CONTROL_LIMIT]);
    drop(mailbox);
    smol::block_on(async {
        assert_eq!(control(inbox.recv().await).len(), CONTROL_LIMIT);
    });
}

#[test]
fn frames_posted_after_the_writer_gave_up_are_refused_and_counted() {
    let (mailbox, inbox) = mailbox(0);
    let frame = Frame::from(b"{}".to_vec());
    assert_eq!(mailbox.post(ToConn::Frames(vec![frame.clone()])), 0);
    assert_eq!(inbox.discard(), 1);
    assert_eq!(mailbox.post(ToConn::Frames(vec![frame.clone(), frame])), 2);
    assert_eq!(inbox.discard(), 0, "nothing was queued");
}

#[test]
fn the_rest_of_a_batch_is_never_seen_without_the_turn() {
    let (mailbox, inbox) = mailbox(0);
    const ROUNDS: usize = 20_000;
    // The writer polls without waiting for a wake, as one woken by
    // another message would.
    let writer = std::thread::spawn(move || {
        let mut seen = 0;
        while seen < ROUNDS {
            match smol::block_on(smol::future::poll_once(inbox.recv())) {
                Some(Some(ToConn::Handed { .. })) => {
                    assert_eq!(inbox.turn().ask(), Asked::HandedOver);
                    inbox.turn().done();
                    seen += 1;
                }
                Some(_) => panic!("expected the rest of a batch"),
                None => std::hint::spin_loop(),
            }
        }
    });
    for _ in 0..ROUNDS {
        while !mailbox.turn().claim() {
            // A writer that failed leaves the turn held for ever.
            assert!(!writer.is_finished(), "the writer stopped");
            std::hint::spin_loop();
        }
        mailbox.hand_over(Vec::new(), 0).unwrap();
    }
    writer.join().unwrap();
}
