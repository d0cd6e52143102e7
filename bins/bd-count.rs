//! `bd count`.

bd_shared::main!(bd_shared::cmd::count::Count);
