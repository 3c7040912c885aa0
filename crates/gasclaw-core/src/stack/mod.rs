//! Adapters for the external programs: the only code that knows their argv,
//! their output and their traps, as the pinned releases' sources show them
//! (`tests/fakes/README.md` names the commits). Everything above
//! this module speaks of towns, rigs, the mayor and the gateway.

pub mod beads;
pub mod claude;
pub mod dolt;
pub mod exec;
pub mod gastown;
pub mod git;
pub mod github;
pub mod openclaw;

pub use exec::{ExecError, Invocation, Redactor, Runner};

/// An adapter's failure.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("`{program}` answered something unexpected: {detail}")]
    Unexpected {
        program: &'static str,
        detail: String,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl StackError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> StackError {
        StackError::Io {
            what: what.into(),
            source,
        }
    }

    /// Whether the program is simply not installed.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StackError::Exec(e) if e.is_not_found())
    }
}

/// Finds the first `x.y.z` in a version banner.
pub fn parse_semver(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() >= 3 && parts.iter().all(|p| !p.is_empty())
        })
        .map(|w| w.trim_matches('.').to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn semver_from_banners() {
        assert_eq!(
            super::parse_semver("gt version 1.2.1 (dev: main@abc1234)").as_deref(),
            Some("1.2.1")
        );
        assert_eq!(
            super::parse_semver("2.1.332 (Claude Code)").as_deref(),
            Some("2.1.332")
        );
        assert_eq!(
            super::parse_semver("OpenClaw 2026.9.6 (eb377ac)").as_deref(),
            Some("2026.9.6")
        );
        assert_eq!(
            super::parse_semver("dolt version 2.3.1").as_deref(),
            Some("2.3.1")
        );
        assert_eq!(super::parse_semver("no version"), None);
    }
}
