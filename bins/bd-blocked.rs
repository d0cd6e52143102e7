//! `bd blocked`.

bd_shared::main!(bd_shared::cmd::blocked::BlockedCmd);
