//! `bd create`.

bd_shared::main!(bd_shared::cmd::create::Create);
