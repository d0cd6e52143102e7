//! `bd federation push`.

bd_shared::main!(bd_shared::cmd::federation::push::Push);
