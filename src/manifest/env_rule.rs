//! Which environment variables a pack may set. A variable is **protected** when a shell or a
//! common program reads it as code to run, as options or flags that can load code, as a
//! start-up or configuration file that can run code, as a search path for code, or as where
//! connections go and which certificates are trusted. A pack may set a protected variable only
//! when the project's `aibox.toml` allows that name (`[policy] allow-pack-env`); a few names
//! are aibox's own and can never come from a pack.
//!
//! The rule is a list with its sources plus name shapes: names are compared upper-cased
//! (`http_proxy` is `HTTP_PROXY`, `fish_function_path` is `FISH_FUNCTION_PATH`), and a `*`
//! stands for any text, so spellings no list knows (`PS9`, `FOO_COMMAND`, `BAR_OPTIONS`,
//! `BAZ_PATH`) are caught by their shape. docs/security.md lists every entry
//! (`tests/docs.rs` checks that it does).

/// One family of protected names: why they are protected, where that is documented, and the
/// names (`*` = any text).
#[derive(Debug, Clone, Copy)]
pub struct Group {
    pub what: &'static str,
    pub source: &'static str,
    pub names: &'static [&'static str],
}

/// Names aibox sets itself: never from a pack, whatever the project allows.
pub const RESERVED: Group = Group {
    what: "aibox sets it itself",
    source: "aibox",
    names: &["PATH", "AIBOX_*"],
};

/// Every family of protected names, most specific first (the first match explains a refusal).
pub const GROUPS: &[Group] = &[
    Group {
        what: "the dynamic loader and the C library load code or data files from it into every program",
        source: "ld.so(8), dyld(1), glibc's secure-execution list (`unsecvars.h`)",
        names: &[
            "LD_*",
            "DYLD_*",
            "GCONV_PATH",
            "GETCONF_DIR",
            "GLIBC_TUNABLES",
            "HOSTALIASES",
            "LOCALDOMAIN",
            "LOCPATH",
            "MALLOC_TRACE",
            "NIS_PATH",
            "NLSPATH",
            "RESOLV_HOST_CONF",
            "RES_OPTIONS",
            "TZDIR",
        ],
    },
    Group {
        what: "a shell runs it, or runs the files it names, at start-up or before each prompt",
        source: "bash(1) (Shell Variables, INVOCATION), POSIX sh (`ENV`), zsh(1) and zshparam(1), fish(1) (Configuration files, Special variables)",
        names: &[
            "ENV",
            "BASH_*",
            "BASHOPTS",
            "SHELLOPTS",
            "IFS",
            "HOME",
            "CDPATH",
            "GLOBIGNORE",
            "EXECIGNORE",
            "FCEDIT",
            "INPUTRC",
            "MAIL",
            "MAILPATH",
            "MAILCHECK",
            "PS*",
            "RPS*",
            "*PROMPT*",
            "ZDOTDIR",
            "ZSH*",
            "FPATH",
            "MODULE_PATH",
            "NULLCMD",
            "READNULLCMD",
            "POSTEDIT",
            "STTY",
            "FISH_*",
            "XDG_*",
        ],
    },
    Group {
        what: "programs start the program it names (an editor, a pager, a shell, a password prompt, a browser)",
        source: "git(1), less(1), man(1), sudo(8), ssh(1), environ(7)",
        names: &[
            "EDITOR", "VISUAL", "*EDITOR", "PAGER", "*PAGER", "BROWSER", "SHELL", "*SHELL",
            "*ASKPASS", "MANOPT",
        ],
    },
    Group {
        what: "git runs commands, hooks and configuration it names",
        source: "git(1) (ENVIRONMENT VARIABLES), git-config(1) (ENVIRONMENT)",
        names: &["GIT_*"],
    },
    Group {
        what: "ssh and GnuPG take their agents, helpers and configuration from it",
        source: "ssh(1) (ENVIRONMENT), gpg(1) (ENVIRONMENT)",
        names: &["SSH_*", "GNUPGHOME", "GPG_AGENT_INFO"],
    },
    Group {
        what: "Node.js and its package managers take options, modules and configuration from it",
        source: "node(1) (Environment variables: `NODE_OPTIONS`, `NODE_PATH`, …), npm-config(7) (`npm_config_*`), Yarn (`YARN_*`)",
        names: &["NODE_*", "NPM_CONFIG_*", "YARN_*"],
    },
    Group {
        what: "Python and pip run start-up files, modules and configuration it names",
        source: "python(1) (ENVIRONMENT VARIABLES: `PYTHONSTARTUP`, `PYTHONPATH`, …), pip (Configuration: `PIP_*`)",
        names: &["PYTHON*", "PIP_*", "VIRTUAL_ENV"],
    },
    Group {
        what: "Perl loads modules and runs options it names",
        source: "perlrun(1) (ENVIRONMENT: `PERL5OPT`, `PERL5LIB`, `PERL5DB`, …)",
        names: &["PERL*"],
    },
    Group {
        what: "Ruby, RubyGems and Bundler load code and options it names",
        source: "ruby(1) (ENVIRONMENT: `RUBYOPT`, `RUBYLIB`), gem(1), bundle-config(1)",
        names: &["RUBY*", "GEM_*", "BUNDLE_*"],
    },
    Group {
        what: "Java launchers take options and classes from it",
        source: "java(1) (`JDK_JAVA_OPTIONS`, `JAVA_TOOL_OPTIONS`, `CLASSPATH`)",
        names: &[
            "CLASSPATH",
            "JAVA_TOOL_OPTIONS",
            "JDK_JAVA_OPTIONS",
            "_JAVA_OPTIONS",
        ],
    },
    Group {
        what: "less, vim and Emacs run commands and start-up files it names",
        source: "less(1) (ENVIRONMENT VARIABLES: `LESSOPEN`, `LESSCLOSE`, `LESS`, …), vim(1) (`VIMINIT`, `EXINIT`), emacs(1)",
        names: &["LESS*", "VIM*", "EXINIT", "GVIMINIT", "EMACS*"],
    },
    Group {
        what: "build tools run the compilers, wrappers and flags it names",
        source: "make(1) (implicit variables), gcc(1), cargo (Environment variables), `go help environment`",
        names: &[
            "CC",
            "CXX",
            "CPP",
            "LD",
            "AR",
            "AS",
            "*FLAGS",
            "*_WRAPPER",
            "CARGO_*",
            "RUSTUP_*",
            "RUSTC*",
            "RUSTDOC*",
            "GOTOOLCHAIN",
            "GOPROXY",
            "GOSUMDB",
            "GONOSUMDB",
            "GOPRIVATE",
            "GOINSECURE",
            "GOENV",
        ],
    },
    Group {
        what: "it decides where connections go and which certificates are trusted",
        source: "curl(1) and most HTTP clients (`http_proxy`, `HTTPS_PROXY`, …), openssl(1) (`SSL_CERT_FILE`, `OPENSSL_CONF`)",
        names: &[
            "*_PROXY",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "*_CA_BUNDLE",
            "OPENSSL_*",
        ],
    },
    Group {
        what: "it names configuration that runs credential programs",
        source: "kubectl (`KUBECONFIG`: exec plugins), AWS CLI (`credential_process`), Docker CLI (`credHelpers`)",
        names: &[
            "KUBECONFIG",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "DOCKER_*",
        ],
    },
    Group {
        what: "its name has the shape of a command, options, a search path, a module list, a hook or a start-up or configuration file",
        source: "the conventions of the lists above, for programs they do not name",
        names: &[
            "*_COMMAND",
            "*_CMD",
            "*OPTIONS",
            "*OPTS",
            "*OPT",
            "*PATH",
            "*_MODULES",
            "*_HOOK",
            "*_HOOKS",
            "*RC",
            "*CONFIG",
            "*CONF",
        ],
    },
];

/// Why a name is protected: its family and the entry it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    /// The entry of the list that matched (`PS*`, `NODE_*`, `GIT_SSH_COMMAND`…).
    pub entry: &'static str,
    pub what: &'static str,
    pub source: &'static str,
    /// aibox's own: no project can allow it.
    pub reserved: bool,
}

impl std::fmt::Display for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (`{}`; {})", self.what, self.entry, self.source)
    }
}

/// Whether `name` matches `entry`: an exact name, or one with `*` at its start, end or both.
fn matches(name: &str, entry: &str) -> bool {
    match (entry.strip_prefix('*'), entry.strip_suffix('*')) {
        (Some(rest), Some(_)) => {
            let inner = rest.strip_suffix('*').unwrap_or(rest);
            name.contains(inner)
        }
        (Some(suffix), None) => name.ends_with(suffix),
        (None, Some(prefix)) => name.starts_with(prefix),
        (None, None) => name == entry,
    }
}

/// Why `name` is protected, or `None` when any pack may set it.
pub fn protection(name: &str) -> Option<Protection> {
    let upper = name.to_ascii_uppercase();
    std::iter::once((&RESERVED, true))
        .chain(GROUPS.iter().map(|g| (g, false)))
        .find_map(|(group, reserved)| {
            group
                .names
                .iter()
                .find(|entry| matches(&upper, entry))
                .map(|entry| Protection {
                    entry,
                    what: group.what,
                    source: group.source,
                    reserved,
                })
        })
}

/// Whether a pack may set `name` in a profile whose `aibox.toml` allows `allowed`.
pub fn pack_may_set(name: &str, allowed: &[String]) -> bool {
    match protection(name) {
        None => true,
        Some(p) if p.reserved => false,
        Some(_) => allowed.iter().any(|a| a == name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_of_the_issue_and_their_shapes_are_protected() {
        for name in [
            "PS0",
            "PS1",
            "PS2",
            "PS3",
            "PS4",
            "PS9",
            "PROMPT",
            "RPROMPT",
            "PROMPT_COMMAND",
            "GIT_SSH_COMMAND",
            "NODE_OPTIONS",
            "PYTHONSTARTUP",
            "PERL5OPT",
            "LESSOPEN",
            "BASH_ENV",
            "ENV",
            "ZDOTDIR",
            "fish_function_path",
            "http_proxy",
            "npm_config_script_shell",
            "FOO_COMMAND",
            "BAR_OPTIONS",
            "JAVA_OPTS",
            "RUSTFLAGS",
            "LD_PRELOAD",
            "XDG_CONFIG_HOME",
            "EDITOR",
            "GIT_EDITOR",
            "SUDO_ASKPASS",
            "CONFIG_SHELL",
            "PKG_CONFIG_PATH",
        ] {
            let p = protection(name).unwrap_or_else(|| panic!("{name} is not protected"));
            assert!(!p.reserved, "{name}");
        }
        for name in ["PATH", crate::env_vars::HOME, "aibox_config"] {
            assert!(protection(name).is_some_and(|p| p.reserved), "{name}");
        }
    }

    #[test]
    fn ordinary_names_are_not_protected() {
        for name in [
            "JAVA_HOME",
            "SHELLKIT",
            "EDITORCONFIG_TEMPLATE",
            "GREET_WIDTH",
            "WALLED_MODE",
            "V0",
            "NO_COLOR",
            "LANG",
            "TERM",
        ] {
            assert_eq!(protection(name), None, "{name}");
        }
    }

    #[test]
    fn only_an_allowed_protected_name_may_come_from_a_pack() {
        let allowed = vec!["NODE_OPTIONS".to_owned(), "PATH".to_owned()];
        assert!(pack_may_set("JAVA_HOME", &[]));
        assert!(!pack_may_set("NODE_OPTIONS", &[]));
        assert!(pack_may_set("NODE_OPTIONS", &allowed));
        assert!(!pack_may_set("node_options", &allowed), "exact spelling");
        assert!(!pack_may_set("PATH", &allowed), "reserved");
    }

    #[test]
    fn patterns_match_where_their_star_is() {
        assert!(matches("PS1", "PS*"));
        assert!(matches("RPROMPT2", "*PROMPT*"));
        assert!(matches("GIT_SSH_COMMAND", "*_COMMAND"));
        assert!(!matches("COMMAND", "*_COMMAND"));
        assert!(matches("IFS", "IFS") && !matches("IFS2", "IFS"));
    }
}
