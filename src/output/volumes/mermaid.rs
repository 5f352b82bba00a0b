//! `stowage volumes --format mermaid`: services → volumes → host paths as a Mermaid flowchart,
//! coloured by what the data survives; also the graph model `dot` renders. It shows what the
//! table shows: each service's mounts as the engine builds them (a volume shared through
//! `volumes_from` is one node both services point at) and its data paths in the container layer.

use std::fmt::Write;

use foldhash::{HashMap, HashMapExt};

use crate::analysis::{Effective, ServiceAnalysis, layer_paths, shown_mounts};
use crate::compose::model::{Mount, MountSyntax, Project};
use crate::compose::mounts::{self, MountKind};
use crate::workspace::inventory::Inventory;

/// What a node's data survives, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// A data path in the container's own layer: gone with every new container.
    LostOnRecreate,
    /// Anonymous volumes and tmpfs: gone after `down` + `up` (tmpfs even on restart).
    LostOnDown,
    /// Project volumes: removed by `down -v`.
    LostOnDownV,
    /// Host paths, external volumes, image content.
    Survives,
}

impl Fate {
    pub(crate) const ALL: [Fate; 4] = [
        Fate::LostOnRecreate,
        Fate::LostOnDown,
        Fate::LostOnDownV,
        Fate::Survives,
    ];

    pub(crate) fn class(self) -> &'static str {
        match self {
            Fate::LostOnRecreate => "lostOnRecreate",
            Fate::LostOnDown => "lostOnDown",
            Fate::LostOnDownV => "lostOnDownV",
            Fate::Survives => "survives",
        }
    }

    pub(crate) fn legend(self) -> &'static str {
        match self {
            Fate::LostOnRecreate => "lost on recreate: container layer",
            Fate::LostOnDown => "lost on down: anonymous volume, tmpfs",
            Fate::LostOnDownV => "lost on down -v: project volume",
            Fate::Survives => "survives down -v: host path, external volume",
        }
    }

    /// (fill, stroke) colours: dark red, red, orange, green.
    pub(crate) fn colours(self) -> (&'static str, &'static str) {
        match self {
            Fate::LostOnRecreate => ("#f0a8a8", "#8e1b10"),
            Fate::LostOnDown => ("#f8d0d0", "#c0392b"),
            Fate::LostOnDownV => ("#fde2c0", "#e67e22"),
            Fate::Survives => ("#d5f0d5", "#27ae60"),
        }
    }
}

pub(crate) const SERVICE_COLOURS: (&str, &str) = ("#e8eef7", "#4a6fa5");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Service,
    Volume,
    Tmpfs,
    Host,
    /// A data path nothing mounts: the container's own layer.
    Layer,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub(crate) id: String,
    /// One entry per line.
    pub(crate) label: Vec<String>,
    pub(crate) shape: Shape,
    /// `None` for services.
    pub(crate) fate: Option<Fate>,
}

#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) label: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ProjectGraph {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) nodes: Vec<Node>,
    pub(crate) edges: Vec<Edge>,
}

/// Every project as a graph; node ids are `p{project}_{kind}{n}`, stable for the same input.
pub(crate) fn graph(inventory: &Inventory) -> Vec<ProjectGraph> {
    inventory
        .projects
        .iter()
        .enumerate()
        .map(|(i, (project, analysis))| project_graph(i, project, analysis))
        .collect()
}

fn project_graph(i: usize, project: &Project, analysis: &[ServiceAnalysis]) -> ProjectGraph {
    let p = format!("p{i}");
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let mut volume_ids: HashMap<String, String> = HashMap::new();
    let mut host_ids: HashMap<String, String> = HashMap::new();
    let mut volume_node = |nodes: &mut Vec<Node>, key: &str, engine: Option<&str>| -> String {
        if let Some(id) = volume_ids.get(key) {
            return id.clone();
        }
        let id = format!("{p}_v{}", volume_ids.len());
        let external = project.volume(key).is_some_and(|v| v.external);
        let mut label = vec![key.to_owned()];
        match engine.or_else(|| project.volume(key).map(|v| v.name.as_str())) {
            Some(name) if name != key => label.push(name.to_owned()),
            _ => {}
        }
        if external {
            label.push("external".into());
        }
        nodes.push(Node {
            id: id.clone(),
            label,
            shape: Shape::Volume,
            fate: Some(if external {
                Fate::Survives
            } else {
                Fate::LostOnDownV
            }),
        });
        volume_ids.insert(key.to_owned(), id.clone());
        id
    };
    let mut host_node = |nodes: &mut Vec<Node>, key: &str, label: &str| -> String {
        if let Some(id) = host_ids.get(key) {
            return id.clone();
        }
        let id = format!("{p}_h{}", host_ids.len());
        nodes.push(Node {
            id: id.clone(),
            label: vec![label.to_owned()],
            shape: Shape::Host,
            fate: Some(Fate::Survives),
        });
        host_ids.insert(key.to_owned(), id.clone());
        id
    };
    let mut ephemeral = 0;
    let mut ephemeral_node = |nodes: &mut Vec<Node>, label, shape, fate| -> String {
        let id = format!("{p}_e{ephemeral}");
        ephemeral += 1;
        nodes.push(Node {
            id: id.clone(),
            label,
            shape,
            fate: Some(fate),
        });
        id
    };
    let mut ephemeral_ids: HashMap<*const Mount, String> = HashMap::new();
    for (j, a) in analysis.iter().enumerate() {
        let service = &project.services[a.service];
        let sid = format!("{p}_s{j}");
        let mut label = vec![service.name.clone()];
        if let Some(image) = &service.image {
            label.push(image.value.clone());
        }
        nodes.push(Node {
            id: sid.clone(),
            label,
            shape: Shape::Service,
            fate: None,
        });
        let mounts = shown_mounts(project, analysis, a);
        for Effective { mount: m, from } in &mounts {
            let mut target = if m.read_only {
                format!("{} (ro)", m.target)
            } else {
                m.target.clone()
            };
            if let Some(from) = from {
                target = format!("{target} (from {from})");
            }
            let to = match (m.kind, &m.volume_key) {
                (MountKind::Named | MountKind::Cluster, Some(key)) => {
                    volume_node(&mut nodes, key, m.resolved_source.as_deref())
                }
                (MountKind::Bind | MountKind::Npipe, _) => {
                    let shown = m.source.clone().unwrap_or_else(|| "?".into());
                    let key = m.resolved_source.clone().unwrap_or_else(|| shown.clone());
                    host_node(&mut nodes, &key, &shown)
                }
                // One node per mount: a service that gets it through `volumes_from` shares it.
                _ if ephemeral_ids.contains_key(&std::ptr::from_ref(*m)) => {
                    ephemeral_ids[&std::ptr::from_ref(*m)].clone()
                }
                (kind, _) => {
                    let survives = mounts::survives(kind, mounts::VolumeBacking::Project);
                    let (label, shape) = match kind {
                        MountKind::Tmpfs => ("tmpfs (memory)".to_owned(), Shape::Tmpfs),
                        MountKind::Image => (
                            format!("image {}", m.source.as_deref().unwrap_or("")),
                            Shape::Volume,
                        ),
                        _ if m.syntax == MountSyntax::Implicit => {
                            ("anonymous volume (image VOLUME)".to_owned(), Shape::Volume)
                        }
                        _ => ("anonymous volume".to_owned(), Shape::Volume),
                    };
                    let fate = if !survives.down_up {
                        Fate::LostOnDown
                    } else if !survives.down_volumes {
                        Fate::LostOnDownV
                    } else {
                        Fate::Survives
                    };
                    let id = ephemeral_node(&mut nodes, vec![label], shape, fate);
                    ephemeral_ids.insert(std::ptr::from_ref(*m), id.clone());
                    id
                }
            };
            edges.push(Edge {
                from: sid.clone(),
                to,
                label: target,
            });
        }
        // Data paths nothing holds, as the table shows them: the container's own layer.
        for path in layer_paths(a, &mounts) {
            let to = ephemeral_node(
                &mut nodes,
                vec!["container layer".to_owned()],
                Shape::Layer,
                Fate::LostOnRecreate,
            );
            edges.push(Edge {
                from: sid.clone(),
                to,
                label: path.to_owned(),
            });
        }
    }
    // Declared volumes nobody mounts still exist (and `down -v` still removes them).
    for v in &project.volumes {
        volume_node(&mut nodes, &v.key, None);
    }
    // A volume that keeps its data in a host directory (`driver_opts.device`).
    for v in &project.volumes {
        if let Some(device) = v.driver_opts.get("device") {
            let from = volume_node(&mut nodes, &v.key, None);
            let to = host_node(&mut nodes, device, device);
            edges.push(Edge {
                from,
                to,
                label: "device".into(),
            });
        }
    }
    let files: Vec<&str> = project
        .main_files
        .iter()
        .map(|&f| project.file(f).source.display.as_str())
        .collect();
    ProjectGraph {
        id: p,
        label: format!("project {} ({})", project.name, files.join(", ")),
        nodes,
        edges,
    }
}

/// Mermaid text inside a quoted label: quotes and markup characters as entity codes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn label(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

fn node(out: &mut String, indent: &str, n: &Node) {
    let text = label(&n.label);
    let _ = match n.shape {
        Shape::Service => writeln!(out, "{indent}{}[\"{text}\"]", n.id),
        Shape::Volume => writeln!(out, "{indent}{}[(\"{text}\")]", n.id),
        Shape::Tmpfs => writeln!(out, "{indent}{}([\"{text}\"])", n.id),
        Shape::Host => writeln!(out, "{indent}{}[/\"{text}\"/]", n.id),
        Shape::Layer => writeln!(out, "{indent}{}[\"{text}\"]", n.id),
    };
}

pub(crate) fn render(inventory: &Inventory) -> String {
    let mut out = String::from("flowchart LR\n");
    for failure in &inventory.failures {
        let _ = writeln!(out, "  %% error: {}", failure.one_line());
    }
    let graphs = graph(inventory);
    let mut classes: Vec<(&str, Vec<String>)> = vec![("service", Vec::new())];
    classes.extend(Fate::ALL.iter().map(|f| (f.class(), Vec::new())));
    let mut add_class = |class: &str, id: &str| {
        if let Some((_, ids)) = classes.iter_mut().find(|(c, _)| *c == class) {
            ids.push(id.to_owned());
        }
    };
    for g in &graphs {
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", g.id, escape(&g.label));
        let _ = writeln!(out, "    direction LR");
        for n in &g.nodes {
            node(&mut out, "    ", n);
            add_class(n.fate.map_or("service", Fate::class), &n.id);
        }
        out.push_str("  end\n");
        for e in &g.edges {
            let _ = writeln!(out, "  {} -->|\"{}\"| {}", e.from, escape(&e.label), e.to);
        }
    }
    out.push_str("  subgraph legend[\"what the data survives\"]\n    direction LR\n");
    for f in Fate::ALL {
        let id = format!("legend_{}", f.class());
        let _ = writeln!(out, "    {id}[\"{}\"]", escape(f.legend()));
        add_class(f.class(), &id);
    }
    out.push_str("  end\n");
    let (fill, stroke) = SERVICE_COLOURS;
    let _ = writeln!(
        out,
        "  classDef service fill:{fill},stroke:{stroke},color:#111"
    );
    for f in Fate::ALL {
        let (fill, stroke) = f.colours();
        let _ = writeln!(
            out,
            "  classDef {} fill:{fill},stroke:{stroke},color:#111",
            f.class()
        );
    }
    for (class, ids) in classes {
        if !ids.is_empty() {
            let _ = writeln!(out, "  class {} {class}", ids.join(","));
        }
    }
    out
}
