//! Live updates: `GET /live` is a stream of server-sent events, one `changed` event (with no
//! content: nothing personal travels on it) whenever the event log moves, at most one a second.
//! The page's script then refreshes its queue. It follows the hub's one log tail, like the gRPC
//! watch streams, and ends at shutdown or when the page goes away.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{ConsoleState, Signed, app_error};
use crate::app::Store;

/// At most one refresh a second, however busy the log.
const SPACING: Duration = Duration::from_secs(1);

/// `GET /live`
pub async fn events<S: Store>(State(state): State<ConsoleState<S>>, signed: Signed) -> Response {
    if let Err(refused) = signed.may("hotline.v1.AppealRegistry", "WatchAppeals") {
        return refused;
    }
    let tail = match state.hotline.log_tail().await {
        Ok(tail) => tail,
        Err(err) => return app_error(signed.frame("", ""), err),
    };
    let mut changes = tail.changes();
    let mut stop = state.stop.clone();
    let (send, receive) = mpsc::channel::<Result<Event, Infallible>>(2);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = stop.wait_for(|s| *s) => return,
                () = send.closed() => return,
            }
            let version = *changes.borrow_and_update();
            let event = Event::default().event("changed").data(version.to_string());
            if send.send(Ok(event)).await.is_err() {
                return;
            }
            tokio::time::sleep(SPACING).await;
        }
    });
    Sse::new(ReceiverStream::new(receive))
        .keep_alive(KeepAlive::default())
        .into_response()
}
