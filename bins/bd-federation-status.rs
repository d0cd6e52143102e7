//! `bd federation status`.

bd_shared::main!(bd_shared::cmd::federation::status::Status);
