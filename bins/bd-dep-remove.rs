//! `bd dep remove`.

bd_shared::main!(bd_shared::cmd::dep::remove::Remove);
