//! `bd ready`.

bd_shared::main!(bd_shared::cmd::ready::Ready);
