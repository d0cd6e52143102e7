//! `bd label remove`.

bd_shared::main!(bd_shared::cmd::label::remove::Remove);
