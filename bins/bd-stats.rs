//! `bd stats`.

bd_shared::main!(bd_shared::cmd::stats::StatsCmd);
