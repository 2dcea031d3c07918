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
    /// Lower each limit (never raise one above what this process already has).
    pub(super) fn apply(&self) -> std::io::Result<()> {
        for (resource, value) in &self.0 {
            let (_, hard) = resource.get()?;
            let value = (*value).min(hard);
            resource.set(value, value)?;
        }
        Ok(())
    }
}
