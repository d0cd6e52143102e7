//! `bd label list`.

bd_shared::main!(bd_shared::cmd::label::list::List);
