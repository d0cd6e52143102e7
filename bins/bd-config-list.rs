//! `bd config list`.

bd_shared::main!(bd_shared::cmd::config::list::List);
