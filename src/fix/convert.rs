//! The migration fixes: an anonymous volume, an implicit image volume or a directory bind mount
//! becomes a named volume declared at top level. Rules attach these fixes to their findings;
//! `stowage migrate` applies them. One place decides names and edits for all of them.

use super::yaml::{self, Declaration, View};
use crate::finding::{Applicability, Edit, Fix};
use crate::model::{Mount, MountSyntax, Service};
use crate::mounts::MountKind;
use crate::rules::Context;
use crate::syntax::{Kind, NodeId};

/// What happens to read-write directory bind mounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BindStrategy {
    /// Left as they are.
    #[default]
    Skip,
    /// Become named volumes; the data must be copied into them.
    Volume,
    /// Become named volumes bound to the same host directory (`driver_opts` `device`): the data
    /// stays where it is.
    KeepPath,
}

impl BindStrategy {
    pub fn parse(s: &str) -> Option<BindStrategy> {
        match s {
            "skip" => Some(BindStrategy::Skip),
            "volume" => Some(BindStrategy::Volume),
            "keep-path" => Some(BindStrategy::KeepPath),
            _ => None,
        }
    }
}

/// How migration fixes name and convert volumes.
#[derive(Debug, Clone, Default)]
pub struct FixSettings {
    pub binds: BindStrategy,
    /// `{service}`, `{basename}` and `{project}` are replaced; default `{service}-{basename}`.
    pub name_template: Option<String>,
}

pub const DEFAULT_TEMPLATE: &str = "{service}-{basename}";

/// Keeps `[a-zA-Z0-9._-]`, turns anything else into `-`, and never returns an empty name.
pub fn sanitise(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        "data".into()
    } else {
        s
    }
}

fn basename(target: &str) -> &str {
    target
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or("data")
}

/// Whether a bind mount is a read-write directory bind stowage would convert.
pub fn convertible_bind(m: &Mount) -> bool {
    if m.kind != MountKind::Bind || m.read_only || m.unresolved {
        return false;
    }
    let Some(source) = m.resolved_source.as_deref() else {
        return false;
    };
    match std::fs::metadata(source) {
        Ok(meta) => meta.is_dir(),
        // A path that does not exist yet is created as a directory by compose.
        Err(_) => !looks_like_file(source),
    }
}

fn looks_like_file(path: &str) -> bool {
    let last = basename(path);
    matches!(last.rfind('.'), Some(i) if i > 0 && i + 1 < last.len())
}

/// Every mount a migration could convert, in a stable order: (service, mount).
fn candidates<'a>(ctx: &'a Context) -> Vec<(&'a Service, &'a Mount)> {
    let mut out: Vec<(&Service, &Mount)> = Vec::new();
    for (service, analysis) in ctx.services() {
        for m in &analysis.mounts {
            let wanted = match m.kind {
                MountKind::Anonymous => true,
                MountKind::Bind => ctx.fixes.binds != BindStrategy::Skip && convertible_bind(m),
                _ => false,
            };
            if wanted {
                out.push((service, m));
            }
        }
    }
    out
}

/// Services that share the place a mount was written (an anchor used by several services).
fn sharing<'a>(ctx: &'a Context, m: &Mount) -> Vec<&'a str> {
    let Some(loc) = m.loc else { return Vec::new() };
    ctx.services()
        .filter(|(_, a)| a.mounts.iter().any(|x| x.loc == Some(loc)))
        .map(|(s, _)| s.name.as_str())
        .collect()
}

/// The name a converted mount gets: the template, sanitised, unique against every declared
/// volume and every other candidate of this project (so fixes of one pass never collide).
pub fn volume_name(ctx: &Context, service: &Service, mount: &Mount) -> String {
    let template = ctx
        .fixes
        .name_template
        .as_deref()
        .unwrap_or(DEFAULT_TEMPLATE);
    let raw_name = |service: &str, m: &Mount| {
        let shared = sharing(ctx, m).len() > 1;
        let t = if shared {
            template.replace("{service}-", "").replace("{service}", "")
        } else {
            template.to_owned()
        };
        sanitise(
            &t.replace("{service}", service)
                .replace("{basename}", basename(&m.target))
                .replace("{project}", &ctx.project.name),
        )
    };
    // One conversion per place written (an anchor is converted once), implicit ones per service.
    let key_of = |s: &Service, m: &Mount| match m.loc {
        Some(loc) => (Some(loc), String::new(), String::new()),
        None => (None, s.name.clone(), m.target.clone()),
    };
    let mut taken: Vec<String> = ctx.project.volumes.iter().map(|v| v.key.clone()).collect();
    let mut assigned: Vec<(_, String)> = Vec::new();
    for (s, m) in candidates(ctx) {
        let k = key_of(s, m);
        if assigned.iter().any(|(x, _)| *x == k) {
            continue;
        }
        let base = raw_name(&s.name, m);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        taken.push(name.clone());
        assigned.push((k, name));
    }
    let k = key_of(service, mount);
    assigned
        .into_iter()
        .find(|(x, _)| *x == k)
        .map_or_else(|| raw_name(&service.name, mount), |(_, n)| n)
}

fn view<'a>(ctx: &'a Context, file: usize) -> View<'a> {
    let f = ctx.project.file(file);
    View {
        source: &f.source,
        tree: &f.tree,
    }
}

/// The raw (not interpolated) text of a scalar node.
fn raw_scalar<'a>(view: View<'a>, node: NodeId) -> Option<&'a str> {
    match &view.tree.nodes[node].kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

fn finish(
    view: View,
    at: usize,
    mut edits: Vec<Edit>,
    decl: Declaration,
    title: String,
) -> Option<Fix> {
    if edits.iter().any(|e| view.is_protected(e.start)) {
        return None;
    }
    edits.extend(yaml::declare_volumes(view, at, &[decl])?);
    Some(Fix {
        applicability: Applicability::Unsafe,
        title,
        edits,
    })
}

/// `- /data` or `{type: volume, target: /data}` → the named volume `<name>` at the same target.
pub fn convert_anonymous(ctx: &Context, service: &Service, mount: &Mount) -> Option<Fix> {
    if mount.kind != MountKind::Anonymous || mount.syntax == MountSyntax::Implicit {
        return None;
    }
    let loc = mount.loc?;
    let v = view(ctx, loc.file);
    let node = v.node_at(loc)?;
    let name = volume_name(ctx, service, mount);
    let edit = match mount.syntax {
        MountSyntax::Short => {
            let raw = raw_scalar(v, node)?;
            if raw.contains('$') || raw.contains(':') {
                return None;
            }
            yaml::replace_scalar(v, node, &format!("{name}:{raw}"))?
        }
        MountSyntax::Long => {
            let Kind::Map { entries, .. } = &v.tree.nodes[node].kind else {
                return None;
            };
            match entries
                .iter()
                .find(|(k, _)| v.tree.scalar(*k) == Some("source"))
            {
                Some((_, value)) => yaml::replace_scalar(v, *value, &name)?,
                None => yaml::append_map_entry(v, node, "source", &name)?,
            }
        }
        _ => return None,
    };
    finish(
        v,
        loc.start,
        vec![edit],
        Declaration {
            name: name.clone(),
            bind_device: None,
        },
        format!("mount the named volume `{name}` instead"),
    )
}

/// An image `VOLUME` nothing is mounted on → a named volume mounted there explicitly.
pub fn add_implicit(ctx: &Context, service: &Service, mount: &Mount) -> Option<Fix> {
    if mount.syntax != MountSyntax::Implicit {
        return None;
    }
    let v = view(ctx, service.loc.file);
    let service_map = v.tree.nodes.iter().find_map(|n| match &n.kind {
        Kind::Map { entries, .. } => entries
            .iter()
            .find(|(k, _)| {
                v.tree.nodes[*k].span.start == service.loc.start
                    && v.tree.nodes[*k].span.end == service.loc.end
            })
            .map(|(_, val)| *val),
        _ => None,
    })?;
    let Kind::Map { entries, .. } = &v.tree.nodes[service_map].kind else {
        return None;
    };
    let name = volume_name(ctx, service, mount);
    let item = yaml::render_scalar(
        &format!("{name}:{}", mount.target),
        crate::syntax::Style::Plain,
        false,
    );
    let own_volumes = entries
        .iter()
        .find(|(k, _)| v.tree.scalar(*k) == Some("volumes"))
        .map(|(_, val)| *val);
    let written_mounts = service
        .mounts
        .iter()
        .any(|m| m.syntax == MountSyntax::Short || m.syntax == MountSyntax::Long);
    let edit = match own_volumes {
        // Only a list written right here may grow: an alias would change every user of its anchor.
        Some(seq) if matches!(v.tree.nodes[seq].kind, Kind::Seq { .. }) => {
            yaml::append_seq_item(v, seq, &item)?
        }
        Some(_) => return None,
        // A new `volumes:` key would replace volumes merged in from an anchor (`<<`) or another file.
        None if written_mounts => return None,
        None => yaml::add_seq_key(v, service_map, "volumes", &item)?,
    };
    finish(
        v,
        service.loc.start,
        vec![edit],
        Declaration {
            name: name.clone(),
            bind_device: None,
        },
        format!("mount the named volume `{name}` at `{}`", mount.target),
    )
}

/// A read-write directory bind → a named volume (`--binds volume`) or a named volume bound to the
/// same directory (`--binds keep-path`).
pub fn convert_bind(ctx: &Context, service: &Service, mount: &Mount) -> Option<Fix> {
    if ctx.fixes.binds == BindStrategy::Skip
        || !convertible_bind(mount)
        || mount.syntax != MountSyntax::Short
    {
        return None;
    }
    let loc = mount.loc?;
    let v = view(ctx, loc.file);
    let node = v.node_at(loc)?;
    let raw = raw_scalar(v, node)?;
    if raw.contains('$') {
        return None;
    }
    let parsed = crate::mounts::parse_short(raw).ok()?;
    if parsed.ignored_options.iter().any(|o| !o.is_empty())
        || parsed.propagation.is_some()
        || parsed.selinux.is_some()
    {
        return None;
    }
    let name = volume_name(ctx, service, mount);
    let target = &raw[parsed.target_range.clone()];
    let edit = yaml::replace_scalar(v, node, &format!("{name}:{target}"))?;
    let device = (ctx.fixes.binds == BindStrategy::KeepPath)
        .then(|| mount.resolved_source.clone())
        .flatten();
    let title = match device {
        Some(_) => format!("keep the data in place behind the named volume `{name}`"),
        None => format!("move the data into the named volume `{name}`"),
    };
    finish(
        v,
        loc.start,
        vec![edit],
        Declaration {
            name,
            bind_device: device,
        },
        title,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitise("db-/var/lib"), "db--var-lib");
        assert_eq!(sanitise("web-node_modules"), "web-node_modules");
        assert_eq!(sanitise("é"), "data");
        assert_eq!(basename("/var/lib/postgresql/data/"), "data");
        assert_eq!(basename("/"), "data");
    }
}
