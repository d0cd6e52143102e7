//! `bd federation trust`.

bd_shared::main!(bd_shared::cmd::federation::trust::Trust);
