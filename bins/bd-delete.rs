//! `bd delete`.

bd_shared::main!(bd_shared::cmd::delete::Delete);
