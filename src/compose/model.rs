//! The typed project model: what stowage knows about each service and volume once a project is
//! loaded, with the place every piece was written.

use std::path::PathBuf;

use indexmap::IndexMap;

pub(crate) use crate::compose::loader::problem::{Issue, ReadFailure};
use crate::compose::mounts::{MountKind, VolumeBacking};
use crate::yaml::source::SourceFile;
use crate::yaml::syntax::Tree;
use crate::yaml::value::{FileId, Loc};

/// A loaded compose project: one or more files merged as compose merges them.
#[derive(Debug)]
pub struct Project {
    /// The project name as compose computes it (normalised).
    pub name: String,
    /// Where the name came from, for messages about engine volume names.
    pub(crate) name_origin: NameOrigin,
    pub directory: PathBuf,
    /// Every file read for this project (main files first, then included / extended ones).
    pub(crate) files: Vec<LoadedFile>,
    /// The files given or discovered (not included / extended ones), in merge order.
    pub(crate) main_files: Vec<FileId>,
    pub services: Vec<Service>,
    /// Top-level `volumes:` in declaration order (all of them, used or not).
    pub(crate) volumes: Vec<TopVolume>,
    /// The position in `volumes` of each key: every mount of a project of thousands of services
    /// looks its volume up.
    pub(crate) volume_index: foldhash::HashMap<String, usize>,
    /// Problems that make compose reject the project.
    pub errors: Vec<Problem>,
    /// What compose would warn about but accept.
    pub(crate) warnings: Vec<Problem>,
    /// Variables used without a value or default, and where.
    pub(crate) unset_variables: Vec<(String, Loc)>,
    /// Where a top-level `version:` was written.
    pub(crate) version_keys: Vec<Loc>,
    /// Volume entries replaced by a later entry with the same target (earlier, later).
    pub(crate) replaced_mounts: Vec<ReplacedMount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameOrigin {
    Flag,
    Environment,
    NameKey,
    Directory,
}

#[derive(Debug)]
pub(crate) struct LoadedFile {
    pub(crate) source: SourceFile,
    pub(crate) tree: Tree,
    pub(crate) role: FileRole,
}

/// How a file is part of a project; it decides where a new top-level declaration may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FileRole {
    /// Given on the command line or discovered (merged with `-f` semantics).
    Main,
    /// Loaded through `include`: its top-level resources are imported.
    Included,
    /// Loaded through `extends`: only the extended service is taken, nothing at top level.
    Extended,
}

/// A problem with where it is. Built by [`Problem::new`], which derives `message` and `kind`
/// from `issue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub(crate) loc: Option<Loc>,
    /// The file a problem without a position is about (a file that could not be read).
    pub(crate) path: Option<String>,
    /// What is wrong, as data (the rules match on it).
    pub(crate) issue: Issue,
    /// `issue` in compose's words, rendered once (outputs show it as is).
    pub message: String,
    pub(crate) kind: ProblemKind,
    pub(crate) related: Option<Loc>,
}

impl Problem {
    pub(crate) fn new(loc: Option<Loc>, issue: Issue) -> Self {
        Problem {
            loc,
            path: None,
            message: issue.to_string(),
            kind: issue.kind(),
            issue,
            related: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ProblemKind {
    /// The file could not be read or decoded.
    Io,
    Syntax,
    DuplicateKey,
    /// Wrong shape or type, unknown key, missing required field.
    Invalid,
    InvalidVolumeSpec,
    UndefinedVolume,
    Interpolation,
    /// A reference compose cannot resolve: network, service, file, extends target.
    Reference,
    /// Obsolete or ignored syntax (warnings).
    Obsolete,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// The service's key in the file that defined it.
    pub(crate) loc: Loc,
    pub(crate) image: Option<Located<String>>,
    pub(crate) build: Option<Build>,
    /// The final environment: the `env_file:` files' variables, overridden by `environment:`
    /// (`KEY` without value maps to the project environment's value, or None).
    pub(crate) environment: Environment,
    pub mounts: Vec<Mount>,
    pub(crate) volumes_from: Vec<Located<String>>,
    pub(crate) profiles: Vec<String>,
    /// `command:` as written, or a list's words quoted for a shell and joined by spaces.
    pub(crate) command: Option<String>,
    /// `entrypoint:`, the same way.
    pub(crate) entrypoint: Option<String>,
    /// `restart:` as written (`no`, `always`, `on-failure`, `unless-stopped`).
    pub(crate) restart: Option<String>,
    /// `hostname:` and `network_mode:` as written: what the container's hostname is (by default
    /// its ID, new with every container).
    pub(crate) hostname: Option<String>,
    pub(crate) network_mode: Option<String>,
    /// The services this one waits for with `condition: service_completed_successfully`: they
    /// run to completion (a one-off job such as a migration or an init step), not as servers.
    pub(crate) awaits_completion_of: Vec<String>,
}

/// Variable name → value, in the order written.
pub(crate) type Environment = IndexMap<String, Option<String>, foldhash::fast::RandomState>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located<T> {
    pub(crate) value: T,
    pub(crate) loc: Loc,
}

#[derive(Debug, Clone)]
pub(crate) struct Build {
    /// Absolute build context directory (None for a remote context such as a git URL).
    pub(crate) context: Option<PathBuf>,
    pub(crate) dockerfile: String,
    /// Inline `dockerfile_inline` content.
    pub(crate) inline: Option<String>,
    pub(crate) loc: Loc,
}

/// One entry of a service's final mount table.
#[derive(Debug, Clone)]
pub struct Mount {
    pub kind: MountKind,
    /// After interpolation, as written (relative paths stay relative).
    pub source: Option<String>,
    /// Bind: absolute host path; named: engine volume name.
    pub resolved_source: Option<String>,
    /// Cleaned like compose does.
    pub target: String,
    pub read_only: bool,
    /// The entry where it was written (None for implicit image volumes).
    pub(crate) loc: Option<Loc>,
    pub syntax: MountSyntax,
    /// The named volume key (for `kind == Named`).
    pub volume_key: Option<String>,
    /// Short-syntax options compose silently drops.
    pub(crate) ignored_options: Vec<String>,
    /// The source text contained a variable with no value (classification may change).
    pub(crate) unresolved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountSyntax {
    Short,
    Long,
    /// From the service-level `tmpfs:` key.
    TmpfsKey,
    /// Created by an image `VOLUME` with nothing mounted there.
    Implicit,
}

#[derive(Debug, Clone)]
pub struct TopVolume {
    pub(crate) key: String,
    pub(crate) loc: Loc,
    /// Engine volume name.
    pub name: String,
    pub external: bool,
    pub(crate) driver: Option<String>,
    pub(crate) driver_opts: IndexMap<String, String>,
    /// `name:` was written (not project-scoped).
    pub(crate) explicit_name: bool,
}

impl TopVolume {
    /// What holds its data. The local driver (the default) hands `driver_opts` to mount(8):
    /// `type: tmpfs` is memory, `o: bind` with a `device` is a host directory; another driver's
    /// options mean something else, so its volume counts as the project's.
    pub(crate) fn backing(&self) -> VolumeBacking {
        if self.external {
            return VolumeBacking::External;
        }
        if self.driver.as_deref().is_some_and(|d| d != "local") {
            return VolumeBacking::Project;
        }
        if self
            .driver_opts
            .get("type")
            .is_some_and(|t| t.trim() == "tmpfs")
        {
            return VolumeBacking::Memory;
        }
        let bound = self
            .driver_opts
            .get("o")
            .is_some_and(|o| o.split(',').any(|x| x.trim() == "bind"));
        if bound && self.driver_opts.contains_key("device") {
            VolumeBacking::HostDirectory
        } else {
            VolumeBacking::Project
        }
    }
}

impl Project {
    /// What a mount of this project survives (design §2 `survives`).
    pub(crate) fn survives(&self, m: &Mount) -> crate::compose::mounts::Survives {
        crate::compose::mounts::survives(m.kind, self.backing(m))
    }

    /// What holds the data of a named volume mount (`Project` for every other kind).
    pub(crate) fn backing(&self, m: &Mount) -> VolumeBacking {
        m.volume_key
            .as_deref()
            .and_then(|k| self.volume(k))
            .map_or(VolumeBacking::Project, TopVolume::backing)
    }

    /// Where `loc` is, for output: the file as shown to the user, 1-based line and column.
    pub fn position(&self, loc: Loc) -> Position {
        let file = &self.file(loc.file).source;
        let lc = file.line_col(loc.start);
        Position {
            path: file.display.clone(),
            line: lc.line,
            column: lc.column,
        }
    }

    /// The paths of every file the project read.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &std::path::Path> {
        self.files.iter().map(|f| f.source.path.as_path())
    }

    pub(crate) fn file(&self, id: FileId) -> &LoadedFile {
        &self.files[id]
    }

    pub fn volume(&self, key: &str) -> Option<&TopVolume> {
        self.volume_index.get(key).map(|&i| &self.volumes[i])
    }

    pub fn is_rejected(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// A position for output: the file as shown to the user, 1-based line and character column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

/// A volume entry replaced by a later one with the same target (uniqueness by target).
#[derive(Debug, Clone)]
pub(crate) struct ReplacedMount {
    pub(crate) service: String,
    pub(crate) earlier: Loc,
    pub(crate) later: Loc,
    /// The target both entries mount at.
    pub(crate) target: String,
    /// What each entry mounts (None when the entry is malformed).
    pub(crate) earlier_kind: Option<MountKind>,
    pub(crate) later_kind: Option<MountKind>,
}
