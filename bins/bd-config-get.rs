//! `bd config get`.

bd_shared::main!(bd_shared::cmd::config::get::Get);
