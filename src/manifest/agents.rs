//! The coding agents `aibox.toml`'s `agents` list can name, and where each keeps its skills:
//! a folder relative to the project root, and a user-level folder for the global profile.
//! Taken from the agent table of the `skills` npm package (1.7.4, `dist/cli.mjs`), which
//! tracks where each agent reads skills; `docs/guide.md` lists them.

/// Where an agent keeps user-level skills (the global profile projects there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDir {
    /// A path relative to the user's home directory.
    Home(&'static str),
    /// A path relative to `$XDG_CONFIG_HOME` (else `~/.config`).
    Config(&'static str),
    /// `$CLAUDE_CONFIG_DIR/skills`, else `~/.claude/skills`.
    Claude,
    /// `~/.openclaw/skills`, or the folder of its older names (`~/.clawdbot`, `~/.moltbot`)
    /// when only that one exists.
    OpenClaw,
}

/// A built-in agent.
#[derive(Debug, PartialEq, Eq)]
pub struct Agent {
    /// The name `agents` uses (the `skills` CLI's `--agent` value).
    pub name: &'static str,
    pub display: &'static str,
    /// The project-level skills folder, relative to the project root.
    pub project: &'static str,
    pub user: UserDir,
}

const fn agent(
    name: &'static str,
    display: &'static str,
    project: &'static str,
    user: UserDir,
) -> Agent {
    Agent {
        name,
        display,
        project,
        user,
    }
}

use UserDir::{Claude, Config, Home, OpenClaw};

/// The cross-agent folder: what a project without an `agents` list feeds.
pub const UNIVERSAL: &str = "universal";

/// Every built-in agent, sorted by name. The user-level folder of the agents that share the
/// project folder `.agents/skills` is `~/.agents/skills` where the `skills` CLI installs
/// user-level skills for them (its `getCanonicalSkillsDir`), else the agent's own.
pub const BUILT_IN: &[Agent] = &[
    agent("amp", "Amp", ".agents/skills", Home(".agents/skills")),
    agent(
        "augment",
        "Augment",
        ".augment/skills",
        Home(".augment/skills"),
    ),
    agent("claude-code", "Claude Code", ".claude/skills", Claude),
    agent("cline", "Cline", ".agents/skills", Home(".agents/skills")),
    agent("codex", "Codex", ".agents/skills", Home(".agents/skills")),
    agent(
        "continue",
        "Continue",
        ".continue/skills",
        Home(".continue/skills"),
    ),
    agent("crush", "Crush", ".crush/skills", Config("crush/skills")),
    agent("cursor", "Cursor", ".agents/skills", Home(".cursor/skills")),
    agent("droid", "Droid", ".agents/skills", Home(".factory/skills")),
    agent(
        "gemini-cli",
        "Gemini CLI",
        ".agents/skills",
        Home(".gemini/skills"),
    ),
    agent(
        "github-copilot",
        "GitHub Copilot",
        ".agents/skills",
        Home(".copilot/skills"),
    ),
    agent("goose", "Goose", ".goose/skills", Config("goose/skills")),
    agent("junie", "Junie", ".junie/skills", Home(".junie/skills")),
    agent("kilo", "Kilo Code", ".agents/skills", Home(".kilo/skills")),
    agent("kiro-cli", "Kiro CLI", ".kiro/skills", Home(".kiro/skills")),
    agent(
        "mistral-vibe",
        "Mistral Vibe",
        ".vibe/skills",
        Home(".vibe/skills"),
    ),
    agent("openclaw", "OpenClaw", "skills", OpenClaw),
    agent(
        "opencode",
        "OpenCode",
        ".agents/skills",
        Config("opencode/skills"),
    ),
    agent(
        "openhands",
        "OpenHands",
        ".openhands/skills",
        Home(".openhands/skills"),
    ),
    agent(
        "qwen-code",
        "Qwen Code",
        ".qwen/skills",
        Home(".qwen/skills"),
    ),
    agent("roo", "Roo Code", ".roo/skills", Home(".roo/skills")),
    agent("trae", "Trae", ".trae/skills", Home(".trae/skills")),
    agent(
        "universal",
        "Universal",
        ".agents/skills",
        Home(".agents/skills"),
    ),
    agent("warp", "Warp", ".agents/skills", Home(".agents/skills")),
    agent(
        "windsurf",
        "Windsurf",
        ".windsurf/skills",
        Home(".codeium/windsurf/skills"),
    ),
    agent("zed", "Zed", ".agents/skills", Home(".agents/skills")),
];

/// The built-in agent of that name.
pub fn built_in(name: &str) -> Option<&'static Agent> {
    BUILT_IN.iter().find(|a| a.name == name)
}

/// One entry of `agents`: a built-in agent, or one given with its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentSpec {
    BuiltIn(&'static Agent),
    /// `{ name = "mybot", path = ".mybot/skills" }`: `path` is relative to the project root
    /// (for the global profile, to the home directory).
    Custom {
        name: String,
        path: String,
    },
}

impl AgentSpec {
    pub fn name(&self) -> &str {
        match self {
            AgentSpec::BuiltIn(a) => a.name,
            AgentSpec::Custom { name, .. } => name,
        }
    }
}

/// Why `path` cannot be a custom agent's skills folder, or `None`: a relative path of plain
/// components, outside `.aibox` and `.git`.
pub fn bad_agent_path(path: &str) -> Option<&'static str> {
    if let Some(reason) = super::problem::bad_relative_path(path) {
        return Some(reason);
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        return Some("names no folder");
    }
    if matches!(parts[0], ".aibox" | ".git") {
        return Some("is inside `.aibox` or `.git`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_paths_are_relative() {
        assert!(BUILT_IN.windows(2).all(|w| w[0].name < w[1].name));
        for a in BUILT_IN {
            assert_eq!(bad_agent_path(a.project), None, "{}", a.name);
            assert!(crate::manifest::validate_pack_name(a.name).is_ok());
        }
        assert_eq!(built_in("claude-code").unwrap().project, ".claude/skills");
        assert_eq!(built_in("openclaw").unwrap().project, "skills");
        assert_eq!(built_in(UNIVERSAL).unwrap().project, ".agents/skills");
    }

    #[test]
    fn custom_paths_are_checked() {
        assert_eq!(bad_agent_path(".mybot/skills"), None);
        assert!(bad_agent_path("/etc/skills").is_some());
        assert!(bad_agent_path("a/../../b").is_some());
        assert!(bad_agent_path(".aibox/current").is_some());
        assert!(bad_agent_path(".git/hooks").is_some());
        assert!(bad_agent_path("./").is_some());
    }
}
