//! The `aibox plugin` commands: `init` (a new plugin project) and `install`, `uninstall`,
//! `list`, `verify` (plugins in the global profile). Finding and running plugins is
//! [`crate::engine::plugins`].

pub mod init;
pub mod manage;
