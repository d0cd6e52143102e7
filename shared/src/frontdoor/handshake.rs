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

/// One plugin's handshake answer. The plugin runs in a process group of its
/// own, and the whole group is killed once it has answered or its time is
/// up: a plugin that leaves children behind (a shell script's background
/// job) must not outlive the listing, nor hold its output pipe open.
#[must_use]
pub fn query(path: &PathBuf) -> Option<PluginInfo> {
    use std::io::Read as _;
    use std::process::Stdio;
    #[allow(clippy::disallowed_methods)] // the front door runs plugins, not dolt
    let mut command = std::process::Command::new(path);
    command.arg(INFO_FLAG).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = std::time::Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => break None,
        }
    };
    kill_group(&mut child);
    let out = reader.join().ok()?;
    if !status?.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out);
    serde_json::from_str::<PluginInfo>(line.lines().next()?.trim()).ok()
}

/// Kills the plugin and everything it started (its process group).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Some(group) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}
