//! Running the rules over a project: which rules are on and at what severity, anchor
//! de-duplication, suppression comments, and the order findings are reported in.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::analysis::ServiceAnalysis;
use crate::config::Config;
use crate::finding::{Finding, Severity};
use crate::fix::convert::FixSettings;
use crate::images::KnowledgeBase;
use crate::model::Project;
use crate::rules::unused_suppression::{self, UnusedSuppression};
use crate::rules::{self, Context, Rule};
use crate::suppress;
use crate::value::Loc;

/// Which rules run and how severe their findings are.
#[derive(Debug, Clone, Default)]
pub struct RuleSettings {
    /// `--select`: only these rules (by id); empty = the default set.
    pub select: Vec<String>,
    /// `--ignore`: never these rules.
    pub ignore: Vec<String>,
    /// Per-rule severity from the configuration; `None` = off.
    pub severity: HashMap<String, Option<Severity>>,
    /// How migration fixes convert mounts.
    pub fixes: FixSettings,
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

/// Services from which a project's rules run side by side.
const PARALLEL_RULES_FROM: usize = 64;

/// All findings for one project after configuration and suppressions, de-duplicated and sorted
/// by (file, offset, rule).
pub fn run(
    project: &Project,
    analysis: &[ServiceAnalysis],
    kb: &KnowledgeBase,
    settings: &RuleSettings,
    config: &Config,
) -> Vec<Finding> {
    let ctx = Context {
        project,
        analysis,
        kb,
        fixes: &settings.fixes,
        memo: Default::default(),
    };
    // Rules are independent: on a large project they run side by side (both cores busy), their
    // findings joined in registry order; a small one is not worth a thread.
    let check_rule = |rule: &&dyn Rule| {
        let mut out = Vec::new();
        if settings.effective(*rule).is_none() {
            return out;
        }
        rule.check(&ctx, &mut out);
        // A severity the user configured applies to every finding of the rule; otherwise
        // the rule's own (`bind-mount` raises its default on a data path).
        if let Some(level) = settings.severity.get(rule.meta().id).copied().flatten() {
            for f in &mut out {
                f.severity = level;
            }
        }
        out
    };
    let per_rule: Vec<Vec<Finding>> = if project.services.len() >= PARALLEL_RULES_FROM {
        rules::RULES.par_iter().map(check_rule).collect()
    } else {
        rules::RULES.iter().map(check_rule).collect()
    };
    let findings: Vec<Finding> = per_rule.into_iter().flatten().collect();
    let mut findings = merge_anchor_findings(findings);
    findings.retain(|f| !config.ignores(&project.file(f.loc.file).source.path, f.rule));
    let mut findings = apply_suppressions(project, findings, settings);
    findings.sort_by(|a, b| {
        let pa = &project.file(a.loc.file).source.display;
        let pb = &project.file(b.loc.file).source.display;
        (pa, a.loc.start, a.rule).cmp(&(pb, b.loc.start, b.rule))
    });
    findings
}

/// A place inside an anchor is reported once, naming every service that uses it.
fn merge_anchor_findings(findings: Vec<Finding>) -> Vec<Finding> {
    let mut index: HashMap<(&'static str, Loc, String), usize> = HashMap::new();
    let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        match index.get(&(f.rule, f.loc, f.message.clone())) {
            Some(&i) => {
                for s in f.services {
                    if !merged[i].services.contains(&s) {
                        merged[i].services.push(s);
                    }
                }
            }
            None => {
                index.insert((f.rule, f.loc, f.message.clone()), merged.len());
                merged.push(f);
            }
        }
    }
    merged
}

/// Drops suppressed findings and reports suppressions that matched nothing (when
/// `unused-suppression` is enabled).
fn apply_suppressions(
    project: &Project,
    findings: Vec<Finding>,
    settings: &RuleSettings,
) -> Vec<Finding> {
    let mut suppressions = Vec::new();
    let mut malformed = Vec::new();
    for (id, file) in project.files.iter().enumerate() {
        // A file loaded twice (through `extends`) is read once for its comments.
        if project.files[..id]
            .iter()
            .any(|f| f.source.path == file.source.path)
        {
            continue;
        }
        let (s, m) = suppress::collect(id, &file.source, &file.tree);
        suppressions.extend(s.into_iter().map(|s| (s, false)));
        malformed.extend(m);
    }
    let same_file =
        |a: Loc, b: Loc| project.file(a.file).source.path == project.file(b.file).source.path;
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings {
        let line = project.file(f.loc.file).source.line_col(f.loc.start).line;
        let mut suppressed = false;
        for (s, used) in suppressions.iter_mut() {
            if same_file(s.loc, f.loc) && s.covers(f.rule, line) {
                *used = true;
                suppressed = true;
            }
        }
        if !suppressed {
            kept.push(f);
        }
    }
    let Some(severity) = settings.effective(&UnusedSuppression) else {
        return kept;
    };
    let id = unused_suppression::META.id;
    for m in malformed {
        kept.push(Finding::new(
            id,
            severity,
            m.loc,
            m.message,
            "write `# stowage: ignore[rule-id] reason`",
        ));
    }
    for (s, used) in suppressions {
        if used {
            continue;
        }
        for rule in &s.rules {
            let (message, help) = match rules::find(rule) {
                None => (
                    format!("suppression names unknown rule `{rule}`"),
                    "check the rule id with `stowage rules`".to_owned(),
                ),
                Some(r) if settings.effective(r).is_none() => continue,
                Some(_) => (
                    format!("suppression of `{rule}` matches no finding"),
                    "remove it from the comment".to_owned(),
                ),
            };
            kept.push(Finding::new(id, severity, s.loc, message, help));
        }
    }
    kept
}

/// Lints one project with its configuration: severities from the configuration over `base`
/// (`--select` / `--ignore`), extra images from the configuration. `Err` when the configured
/// images are invalid.
pub fn lint(
    project: &Project,
    analysis: &[ServiceAnalysis],
    base: &RuleSettings,
    config: &Config,
) -> Result<Vec<Finding>, String> {
    let mut settings = base.clone();
    for (id, level) in &config.rules {
        settings.severity.insert(id.clone(), *level);
    }
    if config.images.is_empty() {
        return Ok(run(
            project,
            analysis,
            KnowledgeBase::builtin(),
            &settings,
            config,
        ));
    }
    let kb = config.knowledge_base()?;
    let analysis = crate::analysis::analyse(project, &kb);
    Ok(run(project, &analysis, &kb, &settings, config))
}
