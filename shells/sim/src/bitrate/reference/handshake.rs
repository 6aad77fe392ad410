//! Before the run: the process's crypto provider, and ICE and DTLS between
//! the two peers over an ideal path.

use std::collections::VecDeque;
use std::sync::Once;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, Output};

use super::Peer;

pub(super) fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// Runs ICE and DTLS between the peers over an ideal path with 1 ms delay;
/// it must finish before the run's time zero.
pub(super) fn connect(tx: &mut Peer, rx: &mut Peer, base: StdInstant) -> Result<(), String> {
    let host = |addr| Candidate::host(addr, "udp").map_err(|e| e.to_string());
    let (htx, hrx) = (host(tx.addr)?, host(rx.addr)?);
    tx.rtc.add_local_candidate(htx.clone());
    tx.rtc.add_remote_candidate(hrx.clone());
    rx.rtc.add_local_candidate(hrx);
    rx.rtc.add_remote_candidate(htx);
    let (ftx, frx) = (
        tx.rtc.direct_api().local_dtls_fingerprint().clone(),
        rx.rtc.direct_api().local_dtls_fingerprint().clone(),
    );
    tx.rtc.direct_api().set_remote_fingerprint(frx);
    rx.rtc.direct_api().set_remote_fingerprint(ftx);
    let (ctx, crx) = (
        tx.rtc.direct_api().local_ice_credentials(),
        rx.rtc.direct_api().local_ice_credentials(),
    );
    tx.rtc.direct_api().set_remote_ice_credentials(crx);
    rx.rtc.direct_api().set_remote_ice_credentials(ctx);
    tx.rtc.direct_api().set_ice_controlling(true);
    rx.rtc.direct_api().set_ice_controlling(false);
    tx.rtc
        .direct_api()
        .start_dtls(true)
        .map_err(|e| e.to_string())?;
    rx.rtc
        .direct_api()
        .start_dtls(false)
        .map_err(|e| e.to_string())?;

    // (deliver at, to the receiver?, datagram)
    let mut wire: VecDeque<(StdInstant, bool, Vec<u8>)> = VecDeque::new();
    let mut wakes = [base, base];
    let hop = StdDuration::from_millis(1);
    let deadline = base + StdDuration::from_secs(3);
    while !(tx.rtc.is_connected() && rx.rtc.is_connected()) {
        let due = wire.front().map(|w| w.0);
        let now = [Some(wakes[0]), Some(wakes[1]), due]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(base);
        if now > deadline {
            return Err("str0m peers did not connect within 3 s".into());
        }
        let mut touched = [false, false];
        if due == Some(now) {
            let (_, to_rx, bytes) = wire.pop_front().unwrap_or((now, true, Vec::new()));
            let (peer, from) = if to_rx {
                (&mut *rx, tx.addr)
            } else {
                (&mut *tx, rx.addr)
            };
            let input = Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: peer.addr,
                    contents: bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| "bad handshake datagram".to_string())?,
                },
            );
            peer.rtc.handle_input(input).map_err(|e| e.to_string())?;
            touched[usize::from(to_rx)] = true;
        } else {
            let i = usize::from(wakes[1] <= wakes[0]);
            let peer = if i == 1 { &mut *rx } else { &mut *tx };
            peer.rtc
                .handle_input(Input::Timeout(now))
                .map_err(|e| e.to_string())?;
            touched[i] = true;
        }
        for (i, peer) in [&mut *tx, &mut *rx].into_iter().enumerate() {
            if !touched[i] {
                continue;
            }
            loop {
                match peer.rtc.poll_output().map_err(|e| e.to_string())? {
                    Output::Timeout(t) => {
                        wakes[i] = t.max(now + hop / 10);
                        break;
                    }
                    Output::Transmit(t) => wire.push_back((now + hop, i == 0, t.contents.to_vec())),
                    Output::Event(_) => {}
                }
            }
        }
    }
    Ok(())
}
