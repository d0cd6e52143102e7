//! `bd federation add-peer`.

bd_shared::main!(bd_shared::cmd::federation::add_peer::AddPeer);
