//! `bd federation pull`.

bd_shared::main!(bd_shared::cmd::federation::pull::Pull);
