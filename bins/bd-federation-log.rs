//! `bd federation log`.

bd_shared::main!(bd_shared::cmd::federation::log::Log);
