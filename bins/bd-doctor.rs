//! `bd doctor`.

bd_shared::main!(bd_shared::cmd::doctor::Doctor);
