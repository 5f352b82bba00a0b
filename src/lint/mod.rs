//! Linting a project: running the rules over it — which rules are on and at what severity, anchor
//! de-duplication, suppression comments, and the order findings are reported in — with the
//! configuration file (`config`) and suppression comments (`suppress`) that decide it.

pub(crate) mod baseline;
pub mod config;
pub(crate) mod suppress;

use std::borrow::Cow;

use foldhash::{HashMap, HashMapExt};

use rayon::prelude::*;

use crate::analysis::ServiceAnalysis;
use crate::compose::model::Project;
use crate::finding::{Finding, Severity};
use crate::images::KnowledgeBase;
use crate::rules::convert::FixSettings;
use crate::rules::unused_suppression::{self, UnusedSuppression};
use crate::rules::{self, Context, Rule};
use crate::yaml::value::Loc;
use config::Config;

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
    pub(crate) fn effective(&self, rule: &dyn Rule) -> Option<Severity> {
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
        // A list that grew by doubling holds up to twice the room it needs, for as long as
        // the findings live.
        out.shrink_to_fit();
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
    // Joined, de-duplicated and filtered in place: a project can have hundreds of thousands of
    // findings, and each copy of the list costs as much again.
    let total = per_rule.iter().map(Vec::len).sum::<usize>();
    let mut per_rule = per_rule.into_iter().skip_while(Vec::is_empty);
    // The first rule's list grows to hold the others (often there are none to add).
    let mut findings = per_rule.next().unwrap_or_default();
    findings.reserve_exact(total - findings.len());
    for rule_findings in per_rule {
        findings.extend(rule_findings);
    }
    merge_anchor_findings(&mut findings);
    findings.retain(|f| !config.ignores(&project.file(f.loc.file).source.path, f.rule));
    apply_suppressions(project, &mut findings, settings);
    sort_findings(project, &mut findings);
    findings
}

/// Sorts findings by (file, offset, rule), stably. The order is found on indices, then applied
/// in place: sorting the findings themselves would need room for half of them again.
fn sort_findings(project: &Project, findings: &mut [Finding]) {
    let key = |f: &Finding| {
        (
            project.file(f.loc.file).source.display.as_str(),
            f.loc.start,
            f.rule,
        )
    };
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| key(&findings[a]).cmp(&key(&findings[b])));
    // order[i]: where the finding for place i is now. Each cycle of the permutation is
    // followed once, swapping along it.
    for start in 0..order.len() {
        if order[start] == usize::MAX {
            continue;
        }
        let mut at = start;
        loop {
            let from = std::mem::replace(&mut order[at], usize::MAX);
            if from == start {
                break;
            }
            findings.swap(at, from);
            at = from;
        }
    }
}

/// A place inside an anchor is reported once, naming every service that uses it: a finding
/// with the rule, place and message of an earlier one adds its services to it and goes.
fn merge_anchor_findings(findings: &mut Vec<Finding>) {
    // (rule, place) -> the first finding there; findings there with other messages (rare).
    let mut first: HashMap<(&'static str, Loc), usize> = HashMap::with_capacity(findings.len());
    let mut others: HashMap<(&'static str, Loc), Vec<usize>> = HashMap::new();
    let mut keep = vec![true; findings.len()];
    for i in 0..findings.len() {
        let key = (findings[i].rule, findings[i].loc);
        let same = |j: &usize| findings[*j].message == findings[i].message;
        let earlier = match first.get(&key) {
            None => {
                first.insert(key, i);
                continue;
            }
            Some(j) if same(j) => *j,
            Some(_) => match others
                .get(&key)
                .and_then(|list| list.iter().find(|j| same(j)))
            {
                Some(&j) => j,
                None => {
                    others.entry(key).or_default().push(i);
                    continue;
                }
            },
        };
        let (before, rest) = findings.split_at_mut(i);
        for s in std::mem::take(&mut rest[0].services) {
            if !before[earlier].services.contains(&s) {
                before[earlier].services.push(s);
            }
        }
        keep[i] = false;
    }
    let mut keep = keep.into_iter();
    findings.retain(|_| keep.next().unwrap_or(true));
}

/// Drops suppressed findings and reports suppressions that matched nothing (when
/// `unused-suppression` is enabled).
fn apply_suppressions(project: &Project, findings: &mut Vec<Finding>, settings: &RuleSettings) {
    let mut suppressions = Vec::new();
    let mut malformed = Vec::new();
    let mut read: foldhash::HashSet<&std::path::Path> = foldhash::HashSet::default();
    for (id, file) in project.files.iter().enumerate() {
        // A file loaded twice (through `extends`) is read once for its comments.
        if !read.insert(file.source.path.as_path()) {
            continue;
        }
        let (s, m) = suppress::collect(id, &file.source, &file.tree);
        suppressions.extend(s.into_iter().map(|s| (s, false)));
        malformed.extend(m);
    }
    if !suppressions.is_empty() {
        // (file, scope, rule) -> the suppressions that say it, and whether they were marked used
        // already: each finding costs a lookup, however many comments there are.
        // The scope is the line (None: the whole file).
        type Key<'a> = (&'a std::path::Path, Option<usize>, &'a str);
        let line_of = |scope: suppress::Scope| match scope {
            suppress::Scope::Line(l) => Some(l),
            suppress::Scope::File => None,
        };
        let mut index: HashMap<Key, (Vec<usize>, bool)> = HashMap::new();
        for (i, (s, _)) in suppressions.iter().enumerate() {
            let path = project.file(s.loc.file).source.path.as_path();
            for rule in &s.rules {
                index
                    .entry((path, line_of(s.scope), rule.as_str()))
                    .or_default()
                    .0
                    .push(i);
            }
        }
        let mut used = vec![false; suppressions.len()];
        findings.retain(|f| {
            let source = &project.file(f.loc.file).source;
            let line = source.line_col(f.loc.start).line;
            let mut suppressed = false;
            for scope in [Some(line), None] {
                if let Some((list, marked)) = index.get_mut(&(source.path.as_path(), scope, f.rule))
                {
                    suppressed = true;
                    if !std::mem::replace(marked, true) {
                        for &i in list.iter() {
                            used[i] = true;
                        }
                    }
                }
            }
            !suppressed
        });
        for ((_, u), now) in suppressions.iter_mut().zip(used) {
            *u = now;
        }
    }
    let Some(severity) = settings.effective(&UnusedSuppression) else {
        return;
    };
    let id = unused_suppression::META.id;
    for m in malformed {
        findings.push(Finding::new(
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
            findings.push(Finding::new(id, severity, s.loc, message, help));
        }
    }
}

/// Lints one project with its configuration: severities from the configuration over `base`
/// (`--select` / `--ignore`), extra images from the configuration. `Err` when the configured
/// images are invalid.
pub(crate) fn lint(
    project: &Project,
    analysis: &[ServiceAnalysis],
    base: &RuleSettings,
    config: &Config,
) -> Result<Vec<Finding>, String> {
    let mut settings = base.clone();
    for (id, level) in &config.rules {
        settings.severity.insert(id.clone(), *level);
    }
    match config.knowledge_base()? {
        Cow::Borrowed(kb) => Ok(run(project, analysis, kb, &settings, config)),
        Cow::Owned(kb) => {
            let analysis = crate::analysis::analyse(project, &kb);
            Ok(run(project, &analysis, &kb, &settings, config))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_are_sorted_stably_in_place() {
        let project = crate::compose::loader::load(&crate::compose::loader::LoadOptions {
            files: vec!["-".into()],
            stdin: Some("services: {}\n".into()),
            stdin_filename: Some("/srv/compose.yaml".into()),
            cwd: "/srv".into(),
            ..crate::compose::loader::LoadOptions::default()
        });
        let at = |start: usize, rule: &'static str, message: &str| {
            Finding::new(
                rule,
                Severity::Info,
                Loc {
                    file: 0,
                    start,
                    end: start,
                },
                message,
                "",
            )
        };
        // Offsets and rules out of order, and ties that must keep their order.
        let mut findings = vec![
            at(9, "b", "1"),
            at(3, "b", "2"),
            at(9, "a", "3"),
            at(3, "b", "4"),
            at(0, "z", "5"),
            at(9, "b", "6"),
            at(3, "a", "7"),
        ];
        let mut expected = findings.clone();
        expected.sort_by_key(|f| (f.loc.start, f.rule));
        sort_findings(&project, &mut findings);
        assert_eq!(findings, expected);
    }
}
