//! `bd close`.

bd_shared::main!(bd_shared::cmd::close::Close);
