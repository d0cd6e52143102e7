//! `bd update`.

bd_shared::main!(bd_shared::cmd::update::Update);
