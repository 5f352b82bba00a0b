//! `stowage volumes --format json`: the inventory as JSON, version 1 (public API: add fields only).

use serde::Serialize;

use crate::analysis::{Effective, ServiceAnalysis, layer_paths, shown_mounts};
use crate::compose::model::Position;
use crate::compose::model::{MountSyntax, Project};
use crate::compose::mounts::{MountKind, Survives};
use crate::workspace::inventory::Inventory;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    projects: Vec<ProjectOut<'a>>,
    errors: Vec<ErrorOut>,
}

#[derive(Serialize)]
struct ProjectOut<'a> {
    name: &'a str,
    directory: String,
    files: Vec<String>,
    services: Vec<ServiceOut<'a>>,
    volumes: Vec<VolumeOut<'a>>,
}

#[derive(Serialize)]
struct ServiceOut<'a> {
    name: &'a str,
    image: Option<&'a str>,
    mounts: Vec<MountOut<'a>>,
    /// Data paths nothing holds: in the container's own layer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    container_layer: Vec<LayerOut<'a>>,
}

#[derive(Serialize)]
struct LayerOut<'a> {
    path: &'a str,
    survives: Survives,
}

#[derive(Serialize)]
struct MountOut<'a> {
    kind: MountKind,
    source: Option<&'a str>,
    resolved_source: Option<&'a str>,
    target: &'a str,
    read_only: bool,
    implicit: bool,
    declared_at: Option<Position>,
    survives: Survives,
    /// The service it is shared from through `volumes_from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
}

#[derive(Serialize)]
struct VolumeOut<'a> {
    key: &'a str,
    name: &'a str,
    external: bool,
    used_by: Vec<&'a str>,
}

#[derive(Serialize)]
pub(crate) struct ErrorOut {
    pub(crate) path: Option<String>,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
    pub(crate) message: String,
}

pub(crate) fn render(inventory: &Inventory) -> String {
    let mut errors: Vec<ErrorOut> = inventory
        .failures
        .iter()
        .map(|f| ErrorOut {
            path: f.path.clone(),
            line: None,
            column: None,
            message: f.message.clone(),
        })
        .collect();
    let mut projects = Vec::new();
    for (project, analysis) in &inventory.projects {
        errors.extend(project.errors.iter().map(|e| {
            let pos = e.loc.map(|l| project.position(l));
            ErrorOut {
                path: pos
                    .as_ref()
                    .map(|p| p.path.clone())
                    .or_else(|| e.path.clone())
                    .or_else(|| {
                        project
                            .main_files
                            .first()
                            .map(|&f| project.file(f).source.display.clone())
                    }),
                line: pos.as_ref().map(|p| p.line),
                column: pos.as_ref().map(|p| p.column),
                message: e.message.clone(),
            }
        }));
        projects.push(project_out(inventory, project, analysis));
    }
    let doc = Document {
        version: 1,
        projects,
        errors,
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("the output model always serialises");
    out.push('\n');
    out
}

fn project_out<'a>(
    inventory: &Inventory,
    project: &'a Project,
    analysis: &'a [ServiceAnalysis],
) -> ProjectOut<'a> {
    let services = analysis
        .iter()
        .map(|a| {
            let service = &project.services[a.service];
            let effective = shown_mounts(project, analysis, a);
            let container_layer = layer_paths(a, &effective)
                .into_iter()
                .map(|path| LayerOut {
                    path,
                    survives: Survives::CONTAINER_LAYER,
                })
                .collect();
            let mounts = effective
                .iter()
                .map(|&Effective { mount: m, from }| MountOut {
                    kind: m.kind,
                    source: m.source.as_deref(),
                    resolved_source: m.resolved_source.as_deref(),
                    target: &m.target,
                    read_only: m.read_only,
                    implicit: m.syntax == MountSyntax::Implicit,
                    declared_at: m.loc.map(|l| project.position(l)),
                    survives: project.survives(m),
                    from,
                })
                .collect();
            ServiceOut {
                name: &service.name,
                image: service.image.as_ref().map(|i| i.value.as_str()),
                mounts,
                container_layer,
            }
        })
        .collect();
    let volumes = project
        .volumes
        .iter()
        .map(|v| {
            let used_by = project
                .services
                .iter()
                .filter(|s| {
                    s.mounts
                        .iter()
                        .any(|m| m.volume_key.as_deref() == Some(&v.key))
                })
                .map(|s| s.name.as_str())
                .collect();
            VolumeOut {
                key: &v.key,
                name: &v.name,
                external: v.external,
                used_by,
            }
        })
        .collect();
    ProjectOut {
        name: &project.name,
        directory: inventory.display_dir(&project.directory),
        files: project
            .main_files
            .iter()
            .map(|&f| project.file(f).source.display.clone())
            .collect(),
        services,
        volumes,
    }
}
