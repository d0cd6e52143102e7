//! Asking plugins who they are (`bd-NAME --bd-plugin-info`), all at once
//! with a short timeout so many plugins still list quickly.

use std::path::PathBuf;
use std::time::Duration;

use crate::plugin::{INFO_FLAG, PluginInfo};

/// How long a plugin may take to answer the handshake.
pub const TIMEOUT: Duration = Duration::from_millis(800);

/// The handshake answer of each path, in order; `None` for plugins that do
/// not answer (third-party plugins need not).
#[must_use]
pub fn query_all(paths: &[PathBuf]) -> Vec<Option<PluginInfo>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths.iter().map(|p| scope.spawn(move || query(p))).collect();
        handles.into_iter().map(|h| h.join().ok().flatten()).collect()
    })
}

/// One plugin's handshake answer.
#[must_use]
pub fn query(path: &PathBuf) -> Option<PluginInfo> {
    #[allow(clippy::disallowed_methods)] // the front door runs plugins, not dolt
    let handle = duct::cmd(path, [INFO_FLAG]).stdin_null().stdout_capture().stderr_null().unchecked().start().ok()?;
    let Some(output) = handle.wait_timeout(TIMEOUT).ok().flatten() else {
        let _ = handle.kill();
        return None;
    };
    if !output.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str::<PluginInfo>(line.lines().next()?.trim()).ok()
}
