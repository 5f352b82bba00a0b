//! Running the rules over a project: which rules are on and at what severity, anchor
//! de-duplication, suppression comments, and the order findings are reported in.

use std::collections::HashMap;

use crate::analysis::ServiceAnalysis;
use crate::finding::{Finding, Severity};
use crate::images::KnowledgeBase;
use crate::model::Project;
use crate::rules::{self, Context, Rule};

/// Which rules run and how severe their findings are.
#[derive(Debug, Clone, Default)]
pub struct RuleSettings {
    /// `--select`: only these rules (by id); empty = the default set.
    pub select: Vec<String>,
    /// `--ignore`: never these rules.
    pub ignore: Vec<String>,
    /// Per-rule severity from the configuration; `None` = off.
    pub severity: HashMap<String, Option<Severity>>,
}

impl RuleSettings {
    /// The severity a rule reports at, or None when it does not run.
    pub fn effective(&self, rule: &dyn Rule) -> Option<Severity> {
        let meta = rule.meta();
        if self.ignore.iter().any(|r| r == meta.id) {
            return None;
        }
        let configured = self.severity.get(meta.id).copied();
        let selected = self.select.iter().any(|r| r == meta.id);
        if !self.select.is_empty() && !selected {
            return None;
        }
        match configured {
            Some(level) => level.or(selected.then_some(meta.severity)),
            None if meta.off_by_default && !selected => None,
            None => Some(meta.severity),
        }
    }
}

/// All findings for one project, de-duplicated and sorted by (file, offset, rule).
pub fn run(project: &Project, analysis: &[ServiceAnalysis], kb: &KnowledgeBase, settings: &RuleSettings) -> Vec<Finding> {
    let ctx = Context { project, analysis, kb };
    let mut findings = Vec::new();
    for rule in rules::RULES {
        let Some(severity) = settings.effective(*rule) else { continue };
        let mut out = Vec::new();
        rule.check(&ctx, &mut out);
        for mut f in out {
            f.severity = severity;
            findings.push(f);
        }
    }
    let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
    // A place inside an anchor is reported once, naming every service that uses it.
    for f in findings {
        match merged.iter_mut().find(|m| m.rule == f.rule && m.loc == f.loc && m.message == f.message) {
            Some(existing) => {
                for s in f.services {
                    if !existing.services.contains(&s) {
                        existing.services.push(s);
                    }
                }
            }
            None => merged.push(f),
        }
    }
    merged.sort_by(|a, b| {
        let pa = &project.file(a.loc.file).source.display;
        let pb = &project.file(b.loc.file).source.display;
        (pa, a.loc.start, a.rule).cmp(&(pb, b.loc.start, b.rule))
    });
    merged
}
