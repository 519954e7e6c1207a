//! Keeps live connections honest: closes those whose peer lost its access after they were opened —
//! a certificate now revoked or no longer trusted (checked again at every reload of the TLS files) or
//! one that expired. A new server certificate alone closes nothing. It also reads which authorities
//! are deactivated, every interval, so that their case streams end on every hub sharing the
//! database (on the hub that deactivated one they end at once); their other calls are refused one by
//! one by the auth layer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::{Hotline, Store};
use crate::live::LiveConnections;
use crate::tls::ReloadingTls;

/// Checks every live connection whenever the TLS files are reloaded or the directory changes, and
/// every `interval`, until `stop` turns true.
pub async fn police<S: Store>(
    live: Arc<LiveConnections>,
    tls: Arc<ReloadingTls>,
    hotline: Hotline<S>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut reloads = tls.reloads();
    loop {
        let reverify = tokio::select! {
            _ = reloads.changed() => true,
            _ = tokio::time::sleep(interval) => false,
            _ = stop.wait_for(|down| *down) => return,
        };
        match hotline.authorities(true).await {
            Ok(list) => hotline.set_inactive_authorities(
                list.into_iter()
                    .filter(|a| !a.active)
                    .map(|a| a.code)
                    .collect(),
            ),
            // The next round tries again; certificates are still checked meanwhile.
            Err(err) => tracing::warn!(error = %err, "cannot read which authorities are active"),
        }
        let now = chrono::Utc::now().timestamp();
        live.close_where(|peer| {
            if peer.not_after < now {
                return Some("its certificate expired".into());
            }
            if reverify && let Some(why) = tls.refuses(&peer.chain) {
                return Some(format!("its certificate is no longer accepted: {why}"));
            }
            None
        });
    }
}
