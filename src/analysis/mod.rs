//! What each service really mounts at run time: its final mount table plus the anonymous volumes
//! the engine creates for image `VOLUME`s left unmounted, what the image is known to store, and
//! where the service's own configuration puts that data (`configured`).

mod configured;

pub(crate) use configured::{Placement, Role};

use std::path::Path;

use crate::compose::model::{Mount, MountSyntax, Project, Service};
use crate::compose::mounts::{self, MountKind};
use crate::images::{self, ImageFacts, KnowledgeBase};

/// One service with everything stowage knows about its data.
#[derive(Debug, Clone)]
pub struct ServiceAnalysis {
    /// Index into `Project::services`.
    pub(crate) service: usize,
    /// The written mounts in compose's order, then implicit ones.
    pub(crate) mounts: Vec<Mount>,
    /// Facts about the image (or the base image of a local Dockerfile).
    pub(crate) facts: Option<ImageFacts>,
    /// Where the image `VOLUME`s came from.
    pub(crate) volumes_from: VolumeSource,
    /// Where the service keeps its data and whether it keeps any (None without image facts).
    pub(crate) placement: Option<Placement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VolumeSource {
    /// No image facts and no Dockerfile: nothing is known about image volumes.
    Unknown,
    KnowledgeBase,
    /// The service builds a local Dockerfile (path as shown to the user).
    Dockerfile(String),
}

pub fn analyse(project: &Project, kb: &KnowledgeBase) -> Vec<ServiceAnalysis> {
    let waits = configured::waits(project);
    project
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| analyse_service(project, &waits, i, s, kb))
        .collect()
}

fn analyse_service(
    project: &Project,
    waits: &foldhash::HashMap<&str, &str>,
    index: usize,
    service: &Service,
    kb: &KnowledgeBase,
) -> ServiceAnalysis {
    let env = |name: &str| service.environment.get(name).cloned().flatten();
    let mut facts = None;
    let mut volume_paths: Vec<String> = Vec::new();
    let mut volumes_from = VolumeSource::Unknown;
    if let Some((dockerfile, shown)) = service.build.as_ref().and_then(read_dockerfile) {
        let parsed = images::parse_dockerfile(&dockerfile);
        volumes_from = VolumeSource::Dockerfile(shown);
        if let Some(base) = parsed
            .base_image
            .as_deref()
            .and_then(images::parse_image_ref)
        {
            facts = kb.lookup(&base, &env);
        }
        volume_paths.extend(facts.iter().flat_map(|f| f.volume_paths.iter().cloned()));
        volume_paths.extend(parsed.volumes.into_iter().filter(|v| v.starts_with('/')));
    } else if let Some(image) = service
        .image
        .as_ref()
        .and_then(|i| images::parse_image_ref(&i.value))
    {
        facts = kb.lookup(&image, &env);
        if let Some(f) = &facts {
            volumes_from = VolumeSource::KnowledgeBase;
            volume_paths.extend(f.volume_paths.iter().cloned());
        }
    }
    let mut mounts = service.mounts.clone();
    let mut seen: Vec<String> = Vec::new();
    for path in volume_paths {
        let target = mounts::clean_path(&path);
        // The engine skips an image VOLUME only when something is mounted at exactly that path.
        if seen.contains(&target) || mounts.iter().any(|m| m.target == target) {
            continue;
        }
        seen.push(target.clone());
        mounts.push(Mount {
            kind: MountKind::Anonymous,
            source: None,
            resolved_source: None,
            target,
            read_only: false,
            loc: None,
            syntax: MountSyntax::Implicit,
            volume_key: None,
            ignored_options: Vec::new(),
            unresolved: false,
        });
    }
    let placement = facts
        .as_ref()
        .map(|f| configured::place(project, waits, service, f));
    ServiceAnalysis {
        service: index,
        mounts,
        facts,
        volumes_from,
        placement,
    }
}

/// The Dockerfile a local build uses, and its path for display; None for remote or missing ones.
fn read_dockerfile(build: &crate::compose::model::Build) -> Option<(String, String)> {
    if let Some(inline) = &build.inline {
        return Some((inline.clone(), "dockerfile_inline".into()));
    }
    let context = build.context.as_ref()?;
    let path = if Path::new(&build.dockerfile).is_absolute() {
        Path::new(&build.dockerfile).to_path_buf()
    } else {
        context.join(&build.dockerfile)
    };
    let text = std::fs::read_to_string(&path).ok()?;
    Some((text, path.display().to_string()))
}

/// Whether a mount at `target` holds the data at `path` (at the path or an ancestor of it).
pub(crate) fn covers(target: &str, path: &str) -> bool {
    target == path
        || target == "/"
        || path
            .strip_prefix(target)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// One mount of a service's table as the engine builds it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effective<'a> {
    pub(crate) mount: &'a Mount,
    /// The service it comes from through `volumes_from` (None: the service's own).
    pub(crate) from: Option<&'a str>,
}

/// The mount table the engine builds for `analysis`'s service: written mounts win,
/// `volumes_from` mounts fill targets that are still free (tmpfs is never shared), and image
/// `VOLUME`s only get an anonymous volume where nothing at all is mounted at exactly their path.
/// None when it cannot be known statically (`volumes_from` a container or an unknown service).
pub(crate) fn effective_mounts<'a>(
    project: &'a Project,
    analyses: &'a [ServiceAnalysis],
    analysis: &'a ServiceAnalysis,
) -> Option<Vec<Effective<'a>>> {
    let own = |mount| Effective { mount, from: None };
    let mut mounts: Vec<Effective<'a>> = analysis
        .mounts
        .iter()
        .filter(|m| m.syntax != MountSyntax::Implicit)
        .map(own)
        .collect();
    for from in &project.services[analysis.service].volumes_from {
        let name = shared_from(&from.value);
        if name.starts_with("container:") {
            return None;
        }
        let other = analyses
            .iter()
            .find(|a| project.services[a.service].name == name)?;
        let from = Some(project.services[other.service].name.as_str());
        for m in &other.mounts {
            if m.kind != MountKind::Tmpfs && !mounts.iter().any(|x| x.mount.target == m.target) {
                mounts.push(Effective { mount: m, from });
            }
        }
    }
    for m in analysis
        .mounts
        .iter()
        .filter(|m| m.syntax == MountSyntax::Implicit)
    {
        if !mounts.iter().any(|x| x.mount.target == m.target) {
            mounts.push(own(m));
        }
    }
    Some(mounts)
}

/// The service (or `container:name`) a `volumes_from` entry names, without its `:ro`/`:rw` mode.
pub(crate) fn shared_from(entry: &str) -> &str {
    entry
        .strip_suffix(":ro")
        .or_else(|| entry.strip_suffix(":rw"))
        .unwrap_or(entry)
}

/// The table to show for `analysis`'s service: [`effective_mounts`], or its own mounts where
/// that cannot be known statically.
pub(crate) fn shown_mounts<'a>(
    project: &'a Project,
    analyses: &'a [ServiceAnalysis],
    analysis: &'a ServiceAnalysis,
) -> Vec<Effective<'a>> {
    effective_mounts(project, analyses, analysis).unwrap_or_else(|| {
        analysis
            .mounts
            .iter()
            .map(|mount| Effective { mount, from: None })
            .collect()
    })
}

/// The data paths of a stateful service that nothing in `mounts` holds: they are in the
/// container's own writable layer, lost whenever the container is recreated.
pub(crate) fn layer_paths<'a>(analysis: &'a ServiceAnalysis, mounts: &[Effective]) -> Vec<&'a str> {
    let (Some(facts), Some(placement)) = (&analysis.facts, &analysis.placement) else {
        return Vec::new();
    };
    if !facts.stateful || !matches!(placement.role, Role::Server | Role::NotAskedFor) {
        return Vec::new();
    }
    placement
        .paths
        .iter()
        .filter(|p| !mounts.iter().any(|m| covers(&m.mount.target, p)))
        .map(String::as_str)
        .collect()
}
