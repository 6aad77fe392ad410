//! Writing a fan-out from the hub's side, without a task per connection.
//!
//! The hub pulls a batch for each connection that has frames and writes it
//! straight to the socket from its own thread, as far as the socket takes
//! it without waiting: at 200 messages/s to 1,000 subscribers each message
//! is one `sendmsg` per connection, and the hand-over to the connection's
//! writer task (a queue, a wake, a poll) cost as much as a quarter of the
//! send itself. A batch the socket does not take whole goes, with the turn,
//! to the connection's writer task, which waits until the socket is
//! writable (see [`crate::turn`]).
//!
//! With more than one executor thread, a large pass is split: the hub's
//! thread writes one share and each other thread a share of its own, so
//! that the sends of one fan-out run on every core.

use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::frame::coding::OpCode;
use onbeat_core::dispatch::hub::{ConnId, Frame};
use smol::channel::{Sender, WeakSender};

use crate::driver::ToHub;
use crate::mailbox::Mailbox;
use crate::metrics::Metrics;
use crate::socket::Socket;
use crate::writer::{batch_len, write_some};

/// A pass with fewer batches than this is written by the hub's thread
/// alone: a task costs more than a few sends.
const SPLIT_MIN: usize = 32;

/// One connection's batch, the turn taken for it.
pub(crate) struct Job {
    pub(crate) conn: ConnId,
    pub(crate) mailbox: Mailbox,
    pub(crate) socket: Socket,
    pub(crate) opcode: OpCode,
    pub(crate) frames: Vec<Frame>,
}

/// Writes `job` as far as the socket takes it without waiting; hands what
/// is left to the connection's writer task. Whether the hub has more for
/// the connection and is to be told now.
pub(crate) fn write(job: Job, metrics: &Metrics) -> bool {
    let total = batch_len(&job.frames);
    let mut written = 0;
    while written < total {
        match write_some(job.socket.get_ref(), &job.frames, job.opcode, written) {
            Ok(n) => written += n,
            // Would block, or failed: the writer task waits for the socket,
            // or meets the same failure and ends the connection.
            Err(_) => break,
        }
    }
    if written < total {
        metrics.writes_handed_over.inc();
        if let Err(dropped) = job.mailbox.hand_over(job.frames, written) {
            metrics.hub_pulled_unwritten.dec_by(dropped as i64);
        }
        return false;
    }
    metrics.frames_out.inc_by(job.frames.len() as u64);
    metrics
        .bytes_out
        .inc_by(job.frames.iter().map(|f| f.len() as u64).sum());
    metrics.writes.inc();
    metrics.hub_pulled_unwritten.dec_by(job.frames.len() as i64);
    let released = job.mailbox.turn().release();
    if released.waiting {
        job.mailbox.wake();
    }
    released.wanted
}

/// Where the hub's passes are written: its own thread, and a share on
/// each other executor thread.
pub(crate) struct Pool {
    shares: Vec<Sender<Vec<Job>>>,
    metrics: Arc<Metrics>,
}

/// A pool for `threads` executor threads, and for each thread but the
/// hub's the task that writes its shares, to run on that thread (its local
/// executor, so that the share is written there and not wherever the
/// executor would place a spawned task: tasks spawned by the hub's thread
/// tended to run on it). What such a task finds the hub wants goes back
/// as [`ToHub::Written`] through `hub`. The tasks end with the pool.
pub(crate) fn pool(
    threads: usize,
    hub: WeakSender<ToHub>,
    metrics: Arc<Metrics>,
) -> (Pool, Vec<impl Future<Output = ()> + Send + 'static>) {
    let mut shares = Vec::new();
    let mut writers = Vec::new();
    for _ in 1..threads.max(1) {
        // Unbounded, yet bounded by the connections: a job holds its
        // connection's turn, so a connection is in at most one.
        let (tx, rx) = smol::channel::unbounded::<Vec<Job>>();
        shares.push(tx);
        let (hub, metrics) = (hub.clone(), metrics.clone());
        writers.push(async move {
            let mut wanted = Vec::new();
            while let Ok(share) = rx.recv().await {
                for job in share {
                    let conn = job.conn;
                    if write(job, &metrics) {
                        wanted.push(conn);
                    }
                }
                // After the share: waiting for room in the hub's channel
                // must not hold up the rest of it.
                for conn in wanted.drain(..) {
                    let Some(hub) = hub.upgrade() else { break };
                    let _ = hub.send(ToHub::Written { conn }).await;
                }
            }
        });
    }
    (Pool { shares, metrics }, writers)
}

impl Pool {
    /// Writes every job of a pass: a share of a large pass to each other
    /// thread (unless `here_only`: the server stops, and those threads with
    /// it), the rest here. The connections the hub has more for, written
    /// here, are pushed to `again`.
    pub(crate) fn write(&self, jobs: &mut Vec<Job>, again: &mut Vec<ConnId>, here_only: bool) {
        if !here_only && !self.shares.is_empty() && jobs.len() >= SPLIT_MIN {
            let share = jobs.len() / (self.shares.len() + 1);
            for to in &self.shares {
                let chunk: Vec<Job> = jobs.drain(jobs.len() - share..).collect();
                if let Err(unsent) = to.try_send(chunk) {
                    // That thread has ended (the server stops): write here.
                    jobs.extend(unsent.into_inner());
                }
            }
        }
        for job in jobs.drain(..) {
            let conn = job.conn;
            if write(job, &self.metrics) {
                again.push(conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_tungstenite::tungstenite::protocol::frame::coding::{Control, Data};
    use onbeat_core::dispatch::hub::Codec;

    use super::*;
    use crate::mailbox::mailbox;
    use crate::server::Shared;
    use crate::test_io::{pair, read_frames};
    use crate::writer::write_task;

    #[test]
    fn a_pong_waits_for_the_rest_of_a_batch_the_socket_did_not_take() {
        let (socket, mut client) = pair();
        rustix::net::sockopt::set_socket_send_buffer_size(socket.get_ref(), 4096).unwrap();
        let (hub, _hub_rx) = smol::channel::bounded(16);
        let shared = Shared::for_tests(hub);
        let (mailbox, inbox) = mailbox(0);
        let text = OpCode::Data(Data::Text);
        let writer = smol::spawn(write_task(
            socket.clone(),
            ConnId(1),
            Codec::Json,
            shared.clone(),
            inbox,
        ));
        // A pong the client's ping asked for arrives while the hub holds
        // the turn; the writer task must not send it meanwhile.
        assert!(mailbox.turn().claim());
        let mut pong = Vec::new();
        let ping = async_tungstenite::tungstenite::protocol::frame::Frame::pong(b"p".to_vec());
        ping.format(&mut pong).unwrap();
        mailbox.control().post(&pong);
        std::thread::sleep(Duration::from_millis(50));

        let big = Frame::from(vec![b'x'; 1 << 20]);
        let job = Job {
            conn: ConnId(1),
            mailbox: mailbox.clone(),
            socket: socket.clone(),
            opcode: text,
            frames: vec![big.clone()],
        };
        shared.metrics.hub_pulled_unwritten.inc();
        assert!(!write(job, &shared.metrics), "no more was wanted");
        assert_eq!(
            shared.metrics.writes_handed_over.get(),
            1,
            "a 4 KiB buffer took 1 MiB"
        );

        let got = read_frames(&mut client, 2);
        assert_eq!(
            got[0],
            (text, big.as_bytes().to_vec()),
            "the frame whole and first"
        );
        assert_eq!(got[1], (OpCode::Control(Control::Pong), b"p".to_vec()));
        drop(mailbox);
        smol::block_on(writer);
        assert_eq!(shared.metrics.hub_pulled_unwritten.get(), 0);
        assert_eq!(shared.metrics.frames_out.get(), 1);
    }

    #[test]
    fn a_large_pass_leaves_a_share_to_each_other_thread() {
        let (socket, mut client) = pair();
        let (hub, _hub_rx) = smol::channel::bounded(16);
        let metrics = Arc::new(Metrics::default());
        let (pool, writers) = pool(2, hub.downgrade(), metrics.clone());
        let frame = Frame::from(b"{}".to_vec());
        let mut jobs: Vec<Job> = (0..64)
            .map(|i| {
                let (mailbox, _inbox) = mailbox(0);
                assert!(mailbox.turn().claim());
                Job {
                    conn: ConnId(i),
                    mailbox,
                    socket: socket.clone(),
                    opcode: OpCode::Data(Data::Text),
                    frames: vec![frame.clone()],
                }
            })
            .collect();
        let mut again = Vec::new();
        pool.write(&mut jobs, &mut again, false);
        assert!(jobs.is_empty() && again.is_empty());
        assert_eq!(
            metrics.frames_out.get(),
            32,
            "half written by the hub's thread"
        );
        drop(pool);
        for writer in writers {
            std::thread::spawn(move || smol::block_on(writer))
                .join()
                .unwrap();
        }
        assert_eq!(
            metrics.frames_out.get(),
            64,
            "the other half by the other thread"
        );
        assert_eq!(read_frames(&mut client, 64).len(), 64);
    }
}
