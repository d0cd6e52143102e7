//! `bd federation fetch`.

bd_shared::main!(bd_shared::cmd::federation::fetch::Fetch);
