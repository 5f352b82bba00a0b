//! The rule catalogue: one file per rule, one registry list, and the context rules read; what
//! several rules share lives in modules of its own.

use std::sync::OnceLock;

use foldhash::{HashMap, HashSet};

use crate::analysis::ServiceAnalysis;
use crate::compose::model::{Project, Service};
use crate::finding::{Finding, Severity};
use crate::images::KnowledgeBase;
use crate::rules::convert::FixSettings;
use crate::yaml::value::Loc;

pub(crate) mod anonymous_volume;
mod bind_mount;
mod duplicate_key;
mod duplicate_mount_target;
mod ephemeral_data;
mod hostname_keyed_data;
mod ignored_volume_option;
mod implicit_volume;
mod invalid_compose;
mod invalid_volume_spec;
mod merge_drops_volumes;
mod obsolete_version;
mod override_drops_volume;
mod project_scoped_volume;
mod shadowed_data_path;
mod shared_data_volume;
mod single_letter_volume;
mod syntax_error;
mod undefined_volume;
mod unresolved_variable;
pub(crate) mod unused_suppression;
mod unused_volume;

// What several rules share.
pub mod convert;
mod data_layout;
mod problems;
mod replaced_entry;
mod service_places;
mod similar;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Will the stack keep its data?
    Persistence,
    /// What compose rejects, or silently does differently from what was written.
    Correctness,
}

/// Whether the rule's findings can carry a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FixAvailability {
    None,
    /// Some findings have a fix (e.g. not inside a block scalar).
    Sometimes,
    Always,
}

/// Everything that describes a rule; documentation is Markdown.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable kebab-case name of the problem.
    pub id: &'static str,
    pub category: Category,
    pub severity: Severity,
    /// Off unless selected or configured.
    pub off_by_default: bool,
    pub fix: FixAvailability,
    /// `stowage migrate` converts this rule's findings: the mounts it reports become named volumes.
    pub(crate) migrates: bool,
    /// One line, lower case: what the rule reports.
    pub summary: &'static str,
    pub what_it_does: &'static str,
    pub why_it_matters: &'static str,
    /// A compose snippet that triggers the rule (YAML).
    pub(crate) example: &'static str,
    /// What the fix changes and whether it is safe; "no fix" when there is none.
    pub(crate) fix_safety: &'static str,
}

/// What a rule is for, by the severity policy (docs/design.md): a risk fails CI by default (data a
/// service needs is lost by a normal lifecycle command, or compose refuses the file); a
/// recommendation is `info` or off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Risk,
    Recommendation,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Risk => "risk",
            Kind::Recommendation => "recommendation",
        }
    }
}

impl RuleMeta {
    /// Whether the rule's findings fail CI by default.
    pub(crate) fn kind(&self) -> Kind {
        if !self.off_by_default && self.severity >= Severity::Warning {
            Kind::Risk
        } else {
            Kind::Recommendation
        }
    }
}

/// What rules see: one loaded project and its mount analysis.
pub struct Context<'a> {
    pub(crate) project: &'a Project,
    pub(crate) analysis: &'a [ServiceAnalysis],
    pub(crate) kb: &'a KnowledgeBase,
    /// How migration fixes convert mounts.
    pub(crate) fixes: &'a FixSettings,
    /// What is computed once per project for every finding that needs it.
    pub(crate) memo: Memo<'a>,
}

/// Facts about the whole project that findings ask for one at a time, computed on first use:
/// recomputing them for every finding made a project of thousands of services quadratic.
#[derive(Debug, Default)]
pub(crate) struct Memo<'a> {
    /// Each service's data layout, by service index (`None`: not analysed, or its mount table
    /// cannot be known statically); five rules read it.
    pub(in crate::rules) layouts: OnceLock<Vec<Option<data_layout::Layout<'a>>>>,
    /// The name `fix::convert::volume_name` gives each convertible mount, by place written
    /// (or service and target for an implicit one).
    pub(crate) volume_names: OnceLock<HashMap<VolumeKey, String>>,
    /// How many services mount each place written (more than one: an entry in a shared anchor).
    pub(crate) sharing: OnceLock<HashMap<Loc, usize>>,
    /// How many services each place written belongs to, as an image or a mount
    /// (`data_layout::shared_place`).
    pub(crate) places: OnceLock<HashMap<Loc, usize>>,
    /// The names suggested for data paths no mount holds yet (`convert::name_for_path`).
    pub(crate) path_names: std::sync::Mutex<PathNames>,
    /// The bind mounts a migration converts together, by host directory (`convert::bind_group`).
    pub(crate) bind_groups: OnceLock<HashMap<String, Option<crate::rules::convert::BindGroup>>>,
}

/// The names suggested for volumes at data paths, by service (None: shared) and path, and every
/// name taken in the project (declared volumes, conversions, earlier suggestions): two
/// suggestions never share a name.
#[derive(Debug, Default)]
pub(crate) struct PathNames {
    pub(crate) taken: Option<HashSet<String>>,
    pub(crate) assigned: HashMap<(Option<String>, String), String>,
    /// The names conversions give, by service and target.
    pub(crate) converted: HashMap<(String, String), String>,
}

/// A mount as `fix::convert::volume_name` tells them apart: the place it was written, or the
/// service and target of an implicit one.
pub(crate) type VolumeKey = (Option<Loc>, String, String);

impl<'a> Context<'a> {
    /// Each service with its analysed mounts (written + implicit).
    pub(crate) fn services(&self) -> impl Iterator<Item = (&'a Service, &'a ServiceAnalysis)> + '_ {
        self.analysis
            .iter()
            .map(|a| (&self.project.services[a.service], a))
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// Pushes findings with the rule's default severity; the caller applies configuration.
    fn check(&self, ctx: &Context, out: &mut Vec<Finding>);
}

/// Every rule, in documentation order.
pub static RULES: &[&dyn Rule] = &[
    &anonymous_volume::AnonymousVolume,
    &implicit_volume::ImplicitVolume,
    &ephemeral_data::EphemeralData,
    &shadowed_data_path::ShadowedDataPath,
    &bind_mount::BindMount,
    &override_drops_volume::OverrideDropsVolume,
    &merge_drops_volumes::MergeDropsVolumes,
    &shared_data_volume::SharedDataVolume,
    &hostname_keyed_data::HostnameKeyedData,
    &project_scoped_volume::ProjectScopedVolume,
    &syntax_error::SyntaxError,
    &duplicate_key::DuplicateKey,
    &invalid_compose::InvalidCompose,
    &invalid_volume_spec::InvalidVolumeSpec,
    &undefined_volume::UndefinedVolume,
    &unused_volume::UnusedVolume,
    &duplicate_mount_target::DuplicateMountTarget,
    &ignored_volume_option::IgnoredVolumeOption,
    &single_letter_volume::SingleLetterVolume,
    &unresolved_variable::UnresolvedVariable,
    &obsolete_version::ObsoleteVersion,
    &unused_suppression::UnusedSuppression,
];

pub fn find(id: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| r.meta().id == id)
}
