//! `bd comment`.

bd_shared::main!(bd_shared::cmd::comment::CommentCmd);
