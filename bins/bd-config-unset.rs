//! `bd config unset`.

bd_shared::main!(bd_shared::cmd::config::unset::Unset);
