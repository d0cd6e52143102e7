//! `bd list`.

bd_shared::main!(bd_shared::cmd::list::List);
