//! `bd federation remove-peer`.

bd_shared::main!(bd_shared::cmd::federation::remove_peer::RemovePeer);
