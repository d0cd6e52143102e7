//! `bd label add`.

bd_shared::main!(bd_shared::cmd::label::add::Add);
