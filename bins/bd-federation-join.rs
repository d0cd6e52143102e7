//! `bd federation join`.

bd_shared::main!(bd_shared::cmd::federation::join::Join);
