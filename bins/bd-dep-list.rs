//! `bd dep list`.

bd_shared::main!(bd_shared::cmd::dep::list::List);
