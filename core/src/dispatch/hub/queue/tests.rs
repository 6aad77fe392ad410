//! The queue against a deque model, and its memory.

use super::*;
use crate::dispatch::hub::HubConfig;
use crate::proto::ServerMsg;
use alloc::collections::VecDeque;

fn frame() -> Entry {
    let msg = ServerMsg::Gap(crate::proto::Gap {
        topic: crate::proto::Topic::try_from("t").expect("short name"),
        epoch: 1,
        from: 2,
        to: 3,
    });
    Entry::Frame {
        frame: Frame::encode(&msg, super::super::Codec::Postcard),
        tag: Tag::Other,
    }
}

fn store(messages: usize) -> Store {
    Store::new(&HubConfig {
        queue_messages: messages,
        queue_bytes: 1 << 20,
        ..HubConfig::default()
    })
}

#[test]
fn an_idle_queue_holds_nothing_and_a_drained_burst_shrinks_back() {
    let mut store = store(1024);
    let mut q = Queue::new();
    assert_eq!(q.capacity(), INLINE, "nothing is allocated up front");
    for _ in 0..500 {
        q.push(&mut store, frame()).expect("within the bounds");
    }
    assert!(q.capacity() >= 500);
    while q.pop_within(&mut store, usize::MAX).is_some() {}
    q.trim();
    assert_eq!(q.capacity(), INLINE, "the burst's room is given back");
    assert_eq!(store.len(), 0, "every entry taken is freed");
    // Bounds are unchanged by the lazy allocation.
    for _ in 0..1024 + CONTROL_FRAMES {
        q.push(&mut store, frame())
            .expect("within the bounds and the reserve");
    }
    assert!(q.push(&mut store, frame()).is_err());
    q.drain(&mut store, |_| {});
    assert_eq!(store.len(), 0, "a drained queue holds nothing");
}

/// Behaves as a `VecDeque` of (topic, offset) over a deterministic mix
/// of operations, keeps its byte count, and frees every entry it let go.
#[test]
fn agrees_with_a_deque() {
    let mut store = store(1 << 20);
    let mut q = Queue::new();
    let mut model: VecDeque<(u32, u64)> = VecDeque::new();
    let mut topics = crate::dispatch::hub::slab::Slab::new();
    let keys: alloc::vec::Vec<Key> = (0..3).map(|_| topics.insert(())).collect();
    let payload = frame();
    let Entry::Frame { frame: bytes, .. } = payload else {
        unreachable!("built as a frame")
    };
    let mut x: u32 = 0x9E37_79B9;
    for i in 0..20_000u64 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let t = x % 3;
        let entry = Entry::Frame {
            frame: bytes.clone(),
            tag: Tag::Deliver {
                topic: keys[t as usize],
                offset: i,
            },
        };
        match x % 16 {
            0..=6 => {
                q.push(&mut store, entry).expect("unbounded");
                model.push_back((t, i));
            }
            7 => {
                q.push_front(&mut store, entry);
                model.push_front((t, i));
            }
            8..=13 => {
                let got = q
                    .pop_within(&mut store, usize::MAX)
                    .and_then(|e| e.topic_offset());
                let want = model.pop_front().map(|(t, o)| (keys[t as usize], o));
                assert_eq!(got, want, "at step {i}");
            }
            14 => {
                let lowest = q.remove_topic(&mut store, keys[t as usize]);
                let want = model.iter().filter(|e| e.0 == t).map(|e| e.1).min();
                model.retain(|e| e.0 != t);
                assert_eq!(lowest, want);
            }
            _ if x % 64 == 15 => {
                let mut seen = alloc::vec::Vec::new();
                q.drain(&mut store, |e| seen.push(e.topic_offset()));
                let want: alloc::vec::Vec<_> = model
                    .drain(..)
                    .map(|(t, o)| Some((keys[t as usize], o)))
                    .collect();
                assert_eq!(seen, want);
            }
            _ => {}
        }
        assert_eq!(q.len(), model.len());
        assert_eq!(q.bytes(), model.len() * bytes.len());
        assert_eq!(store.len(), model.len());
    }
}

#[test]
fn an_entry_stays_five_words() {
    // Every queued entry of every session is one store slot: a tag that
    // grew would cost each of them (an idle connection's memory is bounded).
    assert_eq!(core::mem::size_of::<Entry>(), 40);
    assert_eq!(core::mem::size_of::<Tag>(), 24);
}
