//! `bd config set`.

bd_shared::main!(bd_shared::cmd::config::set::Set);
