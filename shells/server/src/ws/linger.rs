//! How a connection ends: its reader and its writer task run until both
//! have, each given a bounded time once the other is done or a close was
//! posted.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use smol::Task;

use crate::mailbox::Control;

/// How long a connection whose reader has ended gives its writer to write
/// what it has left.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Which side of a connection [`both_or_linger`] saw end first.
enum Ended {
    Reader,
    Writer,
    /// Neither, but a close was posted to the writer.
    Closing,
}

/// Runs a connection's reader and its writer task until both end; once one
/// has, the other gets a bounded time to finish, and is then cancelled.
///
/// - The reader ended (the peer closed or broke a rule): the writer gets
///   [`CLOSE_LINGER`] for its last frames and the close.
/// - A close was posted: the writer gets `close_timeout` to write what is
///   left and the close. A peer that stopped reading would otherwise hold
///   its connection, and what is stuck in its socket buffer, for ever.
/// - The writer is done: the reader reads on, for up to `close_timeout`,
///   until the peer's close reply. Dropping a socket with unread data in it
///   sends a reset, and a reset makes the peer discard what it has not read
///   yet, the close frame included; a peer still reading megabytes of
///   backlog needs more than a moment.
///
/// The reader is pinned by the caller: taken by value, it would be stored
/// twice in this future.
pub(super) async fn both_or_linger<R>(
    mut reader: Pin<&mut R>,
    mut writer: Task<()>,
    closing: &Control,
    close_timeout: Duration,
) where
    R: Future<Output = ()>,
{
    let first = smol::future::or(
        async {
            reader.as_mut().await;
            Ended::Reader
        },
        smol::future::or(
            async {
                (&mut writer).await;
                Ended::Writer
            },
            async {
                closing.closing().await;
                Ended::Closing
            },
        ),
    )
    .await;
    Box::pin(linger(reader, writer, first, close_timeout)).await
}

/// What [`both_or_linger`] does once one side has ended or a close was
/// posted; boxed, so that only closing connections pay for its timers.
async fn linger<R>(reader: Pin<&mut R>, mut writer: Task<()>, first: Ended, close_timeout: Duration)
where
    R: Future<Output = ()>,
{
    match first {
        Ended::Writer => {
            within(reader, close_timeout).await;
        }
        Ended::Reader => {
            within(writer, CLOSE_LINGER).await;
        }
        Ended::Closing => {
            // The reader reads on meanwhile: what the peer sends must not
            // pile up unread while the writer waits for it to read.
            let mut reader = reader;
            let first = smol::future::or(
                async {
                    (&mut writer).await;
                    Some(Ended::Writer)
                },
                smol::future::or(
                    async {
                        reader.as_mut().await;
                        Some(Ended::Reader)
                    },
                    async {
                        smol::Timer::after(close_timeout).await;
                        None
                    },
                ),
            )
            .await;
            match first {
                Some(Ended::Writer) => {
                    within(reader, close_timeout).await;
                }
                Some(_) => {
                    within(writer, CLOSE_LINGER).await;
                }
                None => {}
            }
        }
    }
}

/// Whether `side` ended within `time`.
async fn within(side: impl Future<Output = ()>, time: Duration) -> bool {
    smol::future::or(
        async {
            side.await;
            true
        },
        async {
            smol::Timer::after(time).await;
            false
        },
    )
    .await
}
