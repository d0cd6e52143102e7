//! `bd federation list-peers`.

bd_shared::main!(bd_shared::cmd::federation::list_peers::ListPeers);
