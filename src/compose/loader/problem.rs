//! What the loader finds wrong with a project, as data: one variant per problem, with the names,
//! values and types it is about. The rules build their findings by matching on the variants;
//! [`Issue`]'s `Display` is the one place that words each problem as compose does (the text of
//! `errors[].message` in JSON output and of the `volumes` errors).
//!
//! It lives with the loader, not in `model`, because the loader is what produces it and owns its
//! wording (compose's messages and the limits of `read`); `model::Problem` carries it.

use std::fmt;

use super::extends::MAX_EXTENDS_DEPTH;
use super::read::{MAX_FILE_DEPTH, MAX_FILES_READ, MAX_INTERPOLATED_BYTES, MAX_PROJECT_BYTES};
use crate::compose::model::ProblemKind;
use crate::compose::mounts::VolumeSpecError;
use crate::yaml::syntax::Mistake;
use crate::yaml::value::ValueErrorKind;

/// One problem the loader found. Names are as written (service, volume and key names); `actual`
/// is the type found, with its article (`a number`, `an array`, `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Issue {
    /// The YAML parser stopped; `message` is the parser's.
    Syntax {
        message: String,
        mistake: Mistake,
    },
    /// A key written twice in one mapping; `message` is the value builder's.
    DuplicateKey {
        key: String,
        message: String,
    },
    /// Another problem of the value builder (a key that is a collection, a bad merge, too much
    /// alias expansion); `message` is its own.
    Value {
        kind: ValueErrorKind,
        message: String,
    },
    /// A file that could not be read. `path` is as displayed; `referenced`: another file names it
    /// (`include`, `extends`) and the problem is reported there.
    Unreadable {
        path: String,
        why: ReadFailure,
        referenced: bool,
    },
    /// A file not in UTF-8; `reason` is the decoder's.
    NotUtf8 {
        reason: String,
        referenced: bool,
    },
    /// A read past `MAX_FILES_READ` (`files`) or `MAX_PROJECT_BYTES`.
    LoadLimit {
        files: bool,
        referenced: bool,
    },
    /// `include` and `extends` of other files nested past `MAX_FILE_DEPTH`.
    NestedTooDeeply,
    /// Alias, merge-key and `extends` expansion past the project's budget.
    ExpansionLimit,
    /// Interpolation produced more than `MAX_INTERPOLATED_BYTES` in all.
    InterpolationLimit,
    /// `at`: the compose path of the value (`services.db.image`, split at dots).
    InvalidInterpolation {
        at: Vec<String>,
        value: String,
    },
    /// `${VAR:?msg}` unmet: `tail` is what follows `required variable VAR` in compose's words.
    RequiredVariable {
        at: Vec<String>,
        var: String,
        tail: String,
    },
    /// One interpolated value grew too large; `reason` is the interpolator's.
    InterpolatedValueTooLarge {
        at: Vec<String>,
        reason: String,
    },
    /// An `include` of a git repository or an OCI artifact, which compose fetches and stowage
    /// does not: skipped, and stowage could not check the whole project (exit 2).
    RemoteInclude {
        reference: String,
    },
    EnvFileUnreadable {
        path: String,
        reason: String,
    },
    /// An env file that does not parse; `reason` is the env file reader's.
    EnvFileInvalid {
        path: String,
        reason: String,
    },
    /// A required env file that does not exist (with the reason when it was tried).
    EnvFileNotFound {
        path: String,
        reason: Option<String>,
    },
    TopLevelNotMapping,
    EmptyFile,
    UnknownTopLevelKey {
        key: String,
        no_services: bool,
    },
    /// A top-level section (`services`, `volumes`…) of the wrong type.
    SectionNotMapping {
        section: &'static str,
        actual: String,
    },
    UnknownServiceKey {
        service: String,
        key: String,
    },
    ServiceNotMapping {
        service: String,
        actual: String,
    },
    IncludeNotList,
    IncludeEntryWrongType,
    IncludeEntryWithoutPath,
    IncludeCycle {
        path: String,
    },
    /// A section of the including file that is not a mapping (left null) while the included
    /// file defines some of it: Docker Compose v2.40.3 crashes importing into it.
    ImportIntoNonMapping {
        section: &'static str,
    },
    /// An included resource defined differently in the including file.
    ImportConflict {
        section: &'static str,
        name: String,
    },
    ExtendsCycle {
        service: String,
        base: String,
    },
    ExtendsWithoutService {
        service: String,
    },
    ExtendsWrongType,
    ExtendsTooLong,
    /// `file`: the extended file, when the base was looked for in another file.
    ExtendsBaseNotFound {
        service: String,
        base: String,
        file: Option<String>,
    },
    InvalidProjectName {
        name: String,
    },
    EmptyProjectName,
    InvalidVolumeName {
        key: String,
    },
    VolumeNotMapping {
        key: String,
        actual: String,
    },
    ExternalNotBoolean {
        key: String,
    },
    ExternalNameConflict {
        key: String,
    },
    ExternalNameDeprecated {
        key: String,
    },
    /// An external volume that sets `option` (`driver`, `driver_opts`, `labels`).
    ExternalConflict {
        key: String,
        option: &'static str,
    },
    ServiceVolumesNotList {
        service: String,
        actual: String,
    },
    TmpfsEntryNotString {
        service: String,
    },
    TmpfsAndVolume {
        service: String,
        target: String,
    },
    /// Two entries with the same target (`volumes`: once cleaned; `tmpfs`: as written); `first`
    /// is the index of the earlier one in `section`.
    TargetMountedTwice {
        service: String,
        section: &'static str,
        index: usize,
        first: usize,
        target: String,
    },
    /// A short-syntax entry compose rejects; `spec` as written (after interpolation).
    VolumeSpec {
        spec: String,
        error: VolumeSpecError,
    },
    VolumeEntryWrongType {
        service: String,
        index: usize,
        actual: String,
    },
    UnknownVolumeEntryKey {
        service: String,
        index: usize,
        key: String,
    },
    VolumeEntryWithoutType {
        service: String,
        index: usize,
    },
    VolumeEntryBadType {
        service: String,
        index: usize,
    },
    VolumeEntryWithoutTarget {
        service: String,
        index: usize,
    },
    VolumeSourceNotString {
        service: String,
        index: usize,
    },
    VolumeReadOnlyNotBoolean {
        service: String,
        index: usize,
    },
    /// A service's `extra_hosts` entry compose cannot decode; `reason` is compose's.
    ExtraHost {
        service: String,
        reason: String,
    },
    /// A long-syntax entry's `tmpfs.mode` that compose cannot decode into its `uint32` (a
    /// string, a negative number); `reason` is compose's.
    TmpfsModeNotUnsigned {
        service: String,
        index: usize,
        reason: String,
    },
    BindWithoutSource,
    /// Two equal items in a list whose items must be unique (`path`: the list, dotted).
    DuplicateItems {
        path: String,
        first: usize,
        index: usize,
    },
    UndefinedVolume {
        service: String,
        key: String,
    },
    NoImageNorBuild {
        service: String,
    },
    UndefinedNetwork {
        service: String,
        network: String,
    },
    UndefinedDependency {
        service: String,
        dependency: String,
    },
    /// The services of the cycle, the first one again at the end.
    DependencyCycle {
        cycle: Vec<String>,
    },
    /// `platform` is not among the service's `build.platforms`.
    PlatformNotBuilt {
        service: String,
        platform: String,
    },
    /// What compose's JSON schema refuses; `path`: compose's dotted path of the node.
    Schema {
        path: String,
        problem: SchemaProblem,
    },
}

/// Why the schema refuses a node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SchemaProblem {
    /// The node is not of the type(s) the schema wants (`mapping`, `array`, `string or number`).
    Type { want: String },
    /// A key the schema does not allow here (also a service or resource name out of its pattern).
    Property { key: String },
    /// A string at a cast path that does not convert (`invalid boolean: maybe`).
    Cast { reason: String },
    /// Any other keyword, in the validator's words.
    Other { message: String },
    /// A short-syntax port Docker's parser refuses; `reason` in its words.
    Port { reason: String },
    /// A byte size (`mem_limit`, `shm_size`…) that is not a number with a unit.
    Size { value: String },
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadFailure {
    /// `reason`: the system's (`no such file or directory`).
    Open {
        reason: String,
    },
    Directory,
    /// A device, FIFO or socket.
    NotAFile,
    TooLarge {
        size: u64,
    },
}

impl Issue {
    pub(crate) fn kind(&self) -> ProblemKind {
        use Issue::*;
        match self {
            Syntax { .. } => ProblemKind::Syntax,
            DuplicateKey { .. }
            | Value {
                kind: ValueErrorKind::DuplicateKey,
                ..
            } => ProblemKind::DuplicateKey,
            Unreadable { referenced, .. }
            | NotUtf8 { referenced, .. }
            | LoadLimit { referenced, .. } => {
                if *referenced {
                    ProblemKind::Reference
                } else {
                    ProblemKind::Io
                }
            }
            EnvFileUnreadable { .. } | RemoteInclude { .. } => ProblemKind::Io,
            InvalidInterpolation { .. }
            | RequiredVariable { .. }
            | InterpolatedValueTooLarge { .. }
            | InterpolationLimit => ProblemKind::Interpolation,
            NestedTooDeeply
            | EnvFileNotFound { .. }
            | IncludeCycle { .. }
            | ImportConflict { .. }
            | ImportIntoNonMapping { .. }
            | ExtendsCycle { .. }
            | ExtendsTooLong
            | ExtendsBaseNotFound { .. }
            | NoImageNorBuild { .. }
            | UndefinedNetwork { .. }
            | UndefinedDependency { .. }
            | PlatformNotBuilt { .. }
            | DependencyCycle { .. } => ProblemKind::Reference,
            VolumeSpec { .. }
            | VolumeEntryBadType { .. }
            | VolumeEntryWithoutTarget { .. }
            | BindWithoutSource => ProblemKind::InvalidVolumeSpec,
            UndefinedVolume { .. } => ProblemKind::UndefinedVolume,
            ExternalNameDeprecated { .. } => ProblemKind::Obsolete,
            _ => ProblemKind::Invalid,
        }
    }

    /// The service the problem is about, when it is about one.
    pub(crate) fn service(&self) -> Option<&str> {
        use Issue::*;
        match self {
            InvalidInterpolation { at, .. }
            | RequiredVariable { at, .. }
            | InterpolatedValueTooLarge { at, .. } => match at.as_slice() {
                [services, name, ..] if services == "services" && !name.is_empty() => Some(name),
                _ => None,
            },
            UnknownServiceKey { service, .. }
            | ServiceNotMapping { service, .. }
            | ExtendsCycle { service, .. }
            | ExtendsWithoutService { service }
            | ExtendsBaseNotFound { service, .. }
            | ServiceVolumesNotList { service, .. }
            | TmpfsEntryNotString { service }
            | TmpfsAndVolume { service, .. }
            | TargetMountedTwice { service, .. }
            | VolumeEntryWrongType { service, .. }
            | UnknownVolumeEntryKey { service, .. }
            | VolumeEntryWithoutType { service, .. }
            | VolumeEntryBadType { service, .. }
            | VolumeEntryWithoutTarget { service, .. }
            | VolumeSourceNotString { service, .. }
            | VolumeReadOnlyNotBoolean { service, .. }
            | TmpfsModeNotUnsigned { service, .. }
            | ExtraHost { service, .. }
            | UndefinedVolume { service, .. }
            | NoImageNorBuild { service }
            | UndefinedNetwork { service, .. }
            | UndefinedDependency { service, .. }
            | PlatformNotBuilt { service, .. } => Some(service),
            ImportConflict { section, name } if *section == "services" => Some(name),
            DependencyCycle { cycle } => cycle.first().map(String::as_str),
            Schema { path, .. } => path
                .strip_prefix("services.")
                .and_then(|rest| rest.split('.').next()),
            _ => None,
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Issue::*;
        const INVALID: &str = ": invalid compose project";
        match self {
            Syntax { message, .. }
            | DuplicateKey { message, .. }
            | Value { message, .. }
            | NotUtf8 {
                reason: message, ..
            } => f.write_str(message),
            Unreadable {
                path,
                why,
                referenced,
            } => match why {
                ReadFailure::Open { reason } => write!(f, "open {path}: {reason}"),
                ReadFailure::Directory => write!(f, "{path} is a directory"),
                ReadFailure::NotAFile if *referenced => write!(
                    f,
                    "`{path}` is not a regular file (a device, FIFO or socket)"
                ),
                ReadFailure::NotAFile => {
                    f.write_str("not a regular file (a device, FIFO or socket)")
                }
                ReadFailure::TooLarge { size } => {
                    let e = crate::yaml::source::ReadError::TooLarge { size: *size };
                    if *referenced {
                        write!(f, "`{path}`: {e}")
                    } else {
                        write!(f, "{e}")
                    }
                }
            },
            LoadLimit { files: true, .. } => write!(
                f,
                "project reads too many files (more than {MAX_FILES_READ}, counting each `extends` and `include`)"
            ),
            LoadLimit { files: false, .. } => write!(
                f,
                "project reads too much (more than {} MiB of compose files, counting each `extends` and `include`)",
                MAX_PROJECT_BYTES >> 20
            ),
            NestedTooDeeply => write!(
                f,
                "`include` and `extends` of other files are nested too deeply (more than {MAX_FILE_DEPTH} levels)"
            ),
            ExpansionLimit => {
                f.write_str("project is too large (`extends`, alias or merge-key expansion)")
            }
            InterpolationLimit => write!(
                f,
                "interpolated values are too large (more than {} MiB in all)",
                MAX_INTERPOLATED_BYTES >> 20
            ),
            InvalidInterpolation { at, value } => write!(
                f,
                "invalid interpolation format for {}: `{value}`; escape any `$` with another `$`",
                at.join(".")
            ),
            RequiredVariable { at, var, tail } => {
                write!(f, "error while interpolating {}: ", at.join("."))?;
                if !var.is_empty() {
                    write!(f, "required variable {var}")?;
                }
                f.write_str(tail)
            }
            InterpolatedValueTooLarge { at, reason } => {
                write!(f, "error while interpolating {}: {reason}", at.join("."))
            }
            EnvFileUnreadable { path, reason } => {
                write!(f, "couldn't read env file {path}: {reason}")
            }
            RemoteInclude { reference } => write!(
                f,
                "remote include `{reference}` is not supported; skipped (its services are not checked)"
            ),
            EnvFileInvalid { path, reason } => write!(f, "failed to read {path}: {reason}"),
            EnvFileNotFound { path, reason } => match reason {
                Some(reason) => write!(f, "env file {path} not found: {reason}"),
                None => write!(f, "env file {path} not found"),
            },
            TopLevelNotMapping => f.write_str("top-level object must be a mapping"),
            EmptyFile => f.write_str("empty compose file"),
            UnknownTopLevelKey { key, no_services } => {
                write!(f, "additional property `{key}` is not allowed")?;
                if *no_services {
                    f.write_str(" (a compose v1 file? services belong under `services:`)")?;
                }
                Ok(())
            }
            SectionNotMapping { section, actual } => {
                write!(f, "`{section}` must be a mapping, not {actual}")
            }
            UnknownServiceKey { service, key } => {
                write!(
                    f,
                    "services.{service} additional property `{key}` is not allowed"
                )
            }
            ServiceNotMapping { service, actual } => {
                write!(f, "services.{service} must be a mapping, not {actual}")
            }
            IncludeNotList => f.write_str("`include` must be a list"),
            IncludeEntryWrongType => {
                f.write_str("`include` entries must be a path or a mapping with `path`")
            }
            IncludeEntryWithoutPath => f.write_str("`include` entry needs a `path`"),
            IncludeCycle { path } => write!(f, "include cycle detected: {path}"),
            ImportConflict { section, name } => {
                write!(f, "{section}.{name} conflicts with imported resource")
            }
            ImportIntoNonMapping { section } => write!(
                f,
                "`{section}` is not a mapping, and an included file defines {section}: docker \
                 compose crashes merging them"
            ),
            ExtendsCycle { service, base } => write!(
                f,
                "circular reference: service `{service}` extends `{base}`, which extends it back"
            ),
            ExtendsWithoutService { service } => {
                write!(f, "extends.{service}.service is required")
            }
            ExtendsWrongType => f.write_str("`extends` must be a service name or a mapping"),
            ExtendsTooLong => write!(
                f,
                "`extends` chain is too long (more than {MAX_EXTENDS_DEPTH} services)"
            ),
            ExtendsBaseNotFound {
                service,
                base,
                file,
            } => {
                write!(
                    f,
                    "cannot extend service `{service}`: service `{base}` not found"
                )?;
                match file {
                    Some(file) => write!(f, " in {file}"),
                    None => Ok(()),
                }
            }
            InvalidProjectName { name } => write!(
                f,
                "invalid project name `{name}`: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
            ),
            EmptyProjectName => f.write_str("project name must not be empty"),
            InvalidVolumeName { key } => {
                write!(f, "volume name `{key}` does not match `^[a-zA-Z0-9._-]+$`")
            }
            VolumeNotMapping { key, actual } => {
                write!(f, "volumes.{key} must be a mapping or empty, not {actual}")
            }
            ExternalNotBoolean { key } => write!(f, "volumes.{key}.external must be a boolean"),
            ExternalNameConflict { key } => write!(
                f,
                "volumes.{key}: name and external.name conflict; only use name"
            ),
            ExternalNameDeprecated { key } => write!(
                f,
                "volumes.{key}: external.name is deprecated; set `name` and `external: true`"
            ),
            ExternalConflict { key, option } => write!(
                f,
                "volumes.{key}: conflicting parameters \"external\" and \"{option}\" specified"
            ),
            ServiceVolumesNotList { service, actual } => {
                write!(f, "services.{service}.volumes must be a list, not {actual}")
            }
            TmpfsEntryNotString { service } => {
                write!(f, "services.{service}.tmpfs entries must be strings")
            }
            TmpfsAndVolume { service, target } => write!(
                f,
                "services.{service}: target `{target}` is mounted by both `volumes` and `tmpfs`"
            ),
            TargetMountedTwice {
                service,
                section,
                index,
                first,
                target,
            } => write!(
                f,
                "services.{service}.{section}[{index}]: target `{target}` is already mounted by services.{service}.{section}[{first}]"
            ),
            DuplicateItems { path, first, index } => {
                write!(f, "{path} items at {first} and {index} are equal")
            }
            VolumeSpec { spec, error } => {
                f.write_str(&crate::compose::mounts::spec_error_message(spec, error))
            }
            VolumeEntryWrongType {
                service,
                index,
                actual,
            } => write!(
                f,
                "{} must be a string or a mapping, not {actual}",
                Entry(service, *index)
            ),
            UnknownVolumeEntryKey {
                service,
                index,
                key,
            } => write!(
                f,
                "{} additional property `{key}` is not allowed",
                Entry(service, *index)
            ),
            VolumeEntryWithoutType { service, index } => {
                write!(f, "{} missing property `type`", Entry(service, *index))
            }
            VolumeEntryBadType { service, index } => write!(
                f,
                "{}.type must be one of `bind`, `volume`, `tmpfs`, `cluster`, `npipe`, `image`",
                Entry(service, *index)
            ),
            VolumeEntryWithoutTarget { service, index } => write!(
                f,
                "service volume services.{service}.volumes.[{index}] is missing a mount target"
            ),
            VolumeSourceNotString { service, index } => {
                write!(f, "{}.source must be a string", Entry(service, *index))
            }
            VolumeReadOnlyNotBoolean { service, index } => {
                write!(f, "{}.read_only must be a boolean", Entry(service, *index))
            }
            ExtraHost { service, reason } => {
                write!(f, "'services[{service}].extra_hosts' {reason}")
            }
            TmpfsModeNotUnsigned {
                service,
                index,
                reason,
            } => write!(
                f,
                "'services[{service}].volumes[{index}].tmpfs.mode' {reason}"
            ),
            BindWithoutSource => f.write_str(
                "invalid mount config for type \"bind\": field Source must not be empty",
            ),
            UndefinedVolume { service, key } => write!(
                f,
                "service \"{service}\" refers to undefined volume {key}{INVALID}"
            ),
            NoImageNorBuild { service } => write!(
                f,
                "service \"{service}\" has neither an image nor a build context specified{INVALID}"
            ),
            UndefinedNetwork { service, network } => write!(
                f,
                "service \"{service}\" refers to undefined network {network}{INVALID}"
            ),
            UndefinedDependency {
                service,
                dependency,
            } => write!(
                f,
                "service \"{service}\" depends on undefined service \"{dependency}\"{INVALID}"
            ),
            DependencyCycle { cycle } => {
                write!(f, "dependency cycle detected: {}", cycle.join(" -> "))
            }
            PlatformNotBuilt { platform, .. } => write!(
                f,
                "service.build.platforms MUST include service.platform \"{platform}\"{INVALID}"
            ),
            Schema { path, problem } => match problem {
                SchemaProblem::Type { want } => write!(f, "{path} must be a {want}"),
                SchemaProblem::Property { key } if path.is_empty() => {
                    write!(f, "additional property `{key}` is not allowed")
                }
                SchemaProblem::Property { key } => {
                    write!(f, "{path} additional property `{key}` is not allowed")
                }
                SchemaProblem::Cast { reason } => write!(
                    f,
                    "error while interpolating {path}: failed to cast to expected type: {reason}"
                ),
                SchemaProblem::Other { message } if path.is_empty() => f.write_str(message),
                SchemaProblem::Other { message } => write!(f, "{path}: {message}"),
                SchemaProblem::Port { reason } => write!(f, "{path}: {reason}"),
                SchemaProblem::Size { value } => write!(f, "{path}: invalid size: '{value}'"),
            },
        }
    }
}

/// `services.<service>.volumes.<index>`: where a volume entry is, in compose's messages.
struct Entry<'a>(&'a str, usize);

impl fmt::Display for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "services.{}.volumes.{}", self.0, self.1)
    }
}
