//! `bd reopen`.

bd_shared::main!(bd_shared::cmd::reopen::Reopen);
