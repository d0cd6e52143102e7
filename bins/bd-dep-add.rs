//! `bd dep add`.

bd_shared::main!(bd_shared::cmd::dep::add::Add);
