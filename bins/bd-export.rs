//! `bd export`.

bd_shared::main!(bd_shared::cmd::export::Export);
