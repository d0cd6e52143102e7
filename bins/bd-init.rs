//! `bd init`.

bd_shared::main!(bd_shared::cmd::init::Init);
