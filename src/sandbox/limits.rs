//! Resource limits (`[permissions.limits]`) as rlimits, set in the child before `exec`.

use rlimit::Resource;

use crate::manifest::pack::Limits;

/// The limits to set: resource → value (soft and hard alike).
#[derive(Debug, Clone, Default)]
pub(super) struct Rlimits(Vec<(Resource, u64)>);

impl From<&Limits> for Rlimits {
    fn from(l: &Limits) -> Rlimits {
        let mut v = Vec::new();
        if let Some(s) = l.cpu_seconds {
            v.push((Resource::CPU, s));
        }
        if let Some(m) = l.memory_mib {
            v.push((Resource::AS, m.saturating_mul(1 << 20)));
        }
        if let Some(n) = l.open_files {
            v.push((Resource::NOFILE, n));
        }
        if let Some(n) = l.processes {
            v.push((Resource::NPROC, n));
        }
        Rlimits(v)
    }
}

impl Rlimits {
    /// Lower each limit (never raise one above what this process already has). CPU time's
    /// hard limit is one second past the soft one, so the program first gets SIGXCPU (which
    /// ends it, and by which aibox names the limit) and SIGKILL only if it catches that.
    pub(super) fn apply(&self) -> std::io::Result<()> {
        for (resource, value) in &self.0 {
            let (_, hard) = resource.get()?;
            let soft = (*value).min(hard);
            let new_hard = if *resource == Resource::CPU {
                soft.saturating_add(1).min(hard)
            } else {
                soft
            };
            resource.set(soft, new_hard)?;
        }
        Ok(())
    }
}
