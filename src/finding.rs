//! Findings: what a rule reports, where, and how it could be fixed. Plain data, rendered by
//! `output` and applied by `fix`.

use serde::Serialize;

pub use crate::yaml::edit::Edit;
use crate::yaml::value::Loc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// A secondary place that explains the finding (the replaced entry, the anchor's use…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub loc: Loc,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Never changes what survives or where data lives.
    Safe,
    /// Changes where data lives (the user must move it); applied only with `--unsafe-fixes`.
    Unsafe,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub applicability: Applicability,
    pub title: String,
    pub(crate) edits: Vec<Edit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    /// The severity after configuration (rules set their default).
    pub severity: Severity,
    /// Lower case, no trailing period, code in backticks, no paths or line numbers.
    pub message: String,
    pub help: String,
    /// The primary place: the file and span the finding is about.
    pub loc: Loc,
    pub labels: Vec<Label>,
    /// Services concerned (several when the place is inside an anchor they share).
    pub services: Vec<String>,
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn new(
        rule: &'static str,
        severity: Severity,
        loc: Loc,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Finding {
        // Formatted text has room to spare; a project may keep hundreds of thousands of these.
        let mut message = message.into();
        message.shrink_to_fit();
        let mut help = help.into();
        help.shrink_to_fit();
        Finding {
            rule,
            severity,
            message,
            help,
            loc,
            labels: Vec::new(),
            services: Vec::new(),
            fix: None,
        }
    }

    pub(crate) fn service(mut self, name: &str) -> Finding {
        if !self.services.iter().any(|s| s == name) {
            // Most findings concern one service: no room for more until it is needed.
            self.services.reserve_exact(1);
            self.services.push(name.to_owned());
        }
        self
    }

    pub(crate) fn label(mut self, loc: Loc, message: impl Into<String>) -> Finding {
        self.labels.push(Label {
            loc,
            message: message.into(),
        });
        self
    }
}
