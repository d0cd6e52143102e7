//! `bd search`.

bd_shared::main!(bd_shared::cmd::search::Search);
