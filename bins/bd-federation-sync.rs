//! `bd federation sync`.

bd_shared::main!(bd_shared::cmd::federation::sync::Sync);
