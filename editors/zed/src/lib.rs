//! The Zed extension of stowage: tells Zed how to start `stowage server` for YAML files, and hands
//! it the user's settings. The server itself decides which files are compose files.

use zed_extension_api::settings::LspSettings;
use zed_extension_api::{self as zed, LanguageServerId, Result, Worktree, serde_json};

struct Stowage;

/// The user's `lsp.stowage` settings in Zed (none is fine).
fn settings(id: &LanguageServerId, worktree: &Worktree) -> LspSettings {
    LspSettings::for_worktree(id.as_ref(), worktree).unwrap_or_default()
}

impl zed::Extension for Stowage {
    fn new() -> Self {
        Stowage
    }

    /// `lsp.stowage.binary` when set (path, arguments, environment), else `stowage server` from
    /// the PATH of the project's shell.
    fn language_server_command(
        &mut self,
        id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<zed::Command> {
        let binary = settings(id, worktree).binary;
        let (path, arguments, env) = match binary {
            Some(b) => (b.path, b.arguments, b.env),
            None => (None, None, None),
        };
        let command = match path {
            Some(path) => path,
            None => worktree.which("stowage").ok_or_else(|| {
                "stowage is not on the PATH: install it (`pip install stowage-compose` or \
                 `cargo install --locked stowage-compose`) or set lsp.stowage.binary.path"
                    .to_owned()
            })?,
        };
        Ok(zed::Command {
            command,
            args: arguments.unwrap_or_else(|| vec!["server".to_owned()]),
            env: env.unwrap_or_default().into_iter().collect(),
        })
    }

    /// `lsp.stowage.initialization_options`: the server's settings (`config`, `select`,
    /// `ignore`) when it starts.
    fn language_server_initialization_options(
        &mut self,
        id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<serde_json::Value>> {
        Ok(settings(id, worktree).initialization_options)
    }

    /// `lsp.stowage.settings`: the same settings, sent again whenever they change.
    fn language_server_workspace_configuration(
        &mut self,
        id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<serde_json::Value>> {
        Ok(settings(id, worktree).settings)
    }
}

zed::register_extension!(Stowage);
