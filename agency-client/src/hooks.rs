//! The authority's own systems learn of new and changed cases through hooks: a command that gets
//! the case as JSON on stdin, and/or a JSON file written into an inbox folder. Each stored event's
//! hook runs at least once: it is marked done only after it succeeded, and retried at the next start.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use hotline_proto::render::{agency_case_json, event_json};
use tokio::io::AsyncWriteExt;

use crate::config::ClientConfig;
use crate::local::{LocalResult, LocalStore};

/// How long a hook command may run.
const HOOK_TIMEOUT: Duration = Duration::from_secs(60);

async fn run_command(command: &str, json: &[u8], kind: &str, case_id: i64) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("AGENCY_EVENT_KIND", kind)
        .env("AGENCY_CASE_ID", case_id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start hook: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(json)
            .await
            .map_err(|e| format!("hook stdin: {e}"))?;
    }
    match tokio::time::timeout(HOOK_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("hook exited with {status}")),
        Ok(Err(e)) => Err(format!("hook: {e}")),
        Err(_) => Err(format!("hook ran longer than {HOOK_TIMEOUT:?}")),
    }
}

/// Writes the file under a temporary name first, so readers of the folder never see half a file.
fn write_inbox(dir: &Path, name: &str, json: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, json).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(name)).map_err(|e| format!("{}: {e}", dir.display()))
}

/// Runs the hooks of every stored event whose hooks have not succeeded yet.
pub async fn run_pending(local: &LocalStore, config: &ClientConfig) -> LocalResult<()> {
    for (event, case) in local.pending_hooks().await? {
        let json =
            serde_json::json!({ "event": event_json(&event), "case": agency_case_json(&case) });
        let bytes = serde_json::to_vec_pretty(&json).expect("JSON values serialize");
        let mut outcome = Ok(());
        if let Some(command) = &config.hook_command {
            outcome = run_command(command, &bytes, &event.kind, event.case_id).await;
        }
        if let (Ok(()), Some(dir)) = (&outcome, &config.inbox_dir) {
            outcome = write_inbox(
                dir,
                &format!("{:012}-{}.json", event.id, event.kind),
                &bytes,
            );
        }
        match outcome {
            Ok(()) => local.hook_done(event.id).await?,
            // Retried at the next delivery or start; the case itself is safely stored.
            Err(err) => {
                tracing::warn!(event = event.id, case = event.case_id, error = %err, "hook failed")
            }
        }
    }
    Ok(())
}
