//! Mount primitives: compose-go's short-syntax volume parser, path cleaning and bind-source
//! resolution as compose does them, and what each kind of mount survives.
//!
//! Everything here mirrors compose-go (`format/volume.go`, `paths/`) and Go's `path` package
//! byte for byte, because a linter that disagrees with the loader about whether `v:/data` is
//! a named volume would give wrong advice exactly where it matters.

use std::borrow::Cow;
use std::ops::Range;

use serde::Serialize;

/// What backs a mount inside the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Named,
    Anonymous,
    Tmpfs,
    Npipe,
    Cluster,
    Image,
}

impl MountKind {
    /// The name used in JSON output and messages (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Named => "named",
            MountKind::Anonymous => "anonymous",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Npipe => "npipe",
            MountKind::Cluster => "cluster",
            MountKind::Image => "image",
        }
    }
}

impl std::fmt::Display for MountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of compose-go's `ParseVolume` on a short-syntax string (run AFTER interpolation).
///
/// Invariant: every range indexes `spec` so that `&spec[range]` is the field's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortVolume {
    /// `Bind`, `Named` or `Anonymous` only.
    pub kind: MountKind,
    /// `None` for anonymous volumes.
    pub source: Option<String>,
    /// As parsed, NOT cleaned (the loader applies [`clean_path`] afterwards). Empty only for
    /// specs whose last field sits inside an unclosed `${`, which compose-go silently drops
    /// (the loader then fails with "is missing a mount target").
    pub target: String,
    pub read_only: bool,
    pub nocopy: bool,
    pub propagation: Option<String>,
    pub selinux: Option<String>,
    /// Options compose silently drops (`RO`, `cached`, `delegated`, empty, anything unknown),
    /// in order.
    pub(crate) ignored_options: Vec<String>,
    pub(crate) source_range: Option<Range<usize>>,
    pub(crate) target_range: Range<usize>,
    pub(crate) options_range: Option<Range<usize>>,
}

/// Why compose-go rejects a short-syntax volume; `Display` is compose's reason text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeSpecError {
    #[error("invalid empty volume spec")]
    Empty,
    #[error("empty section between colons")]
    EmptySection,
    #[error("too many colons")]
    TooManyColons,
}

/// compose-go's full error text for a rejected spec. The empty spec is not wrapped: compose-go
/// returns that error before it starts scanning.
pub fn spec_error_message(spec: &str, err: &VolumeSpecError) -> String {
    match err {
        VolumeSpecError::Empty => err.to_string(),
        _ => format!("invalid spec: {spec}: {err}"),
    }
}

/// Options that compose-go turns into bind propagation.
const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

/// Parse a short-syntax volume exactly like compose-go's `format.ParseVolume`.
///
/// Quirks kept on purpose (each one changes what compose does):
/// - specs of 1 or 2 bytes are an anonymous volume with that target, colons and all;
/// - a field that is exactly one unicode letter followed by `:` keeps the colon (a Windows
///   drive), in any field, so `v:/data` is an anonymous volume with target `v:/data`;
/// - colons inside `${...}` do not split (nesting is counted, `}` closes one level);
///   a field still inside an unclosed `${` at the end is dropped;
/// - a NUL character ends a field exactly like the end of the spec does, because compose-go
///   appends NUL as its end marker and tests for it, not for the real end;
/// - options are case sensitive and unknown ones are ignored.
pub fn parse_short(spec: &str) -> Result<ShortVolume, VolumeSpecError> {
    if spec.is_empty() {
        return Err(VolumeSpecError::Empty);
    }
    if spec.len() <= 2 {
        return Ok(ShortVolume {
            kind: MountKind::Anonymous,
            source: None,
            target: spec.to_owned(),
            read_only: false,
            nocopy: false,
            propagation: None,
            selinux: None,
            ignored_options: Vec::new(),
            source_range: None,
            target_range: 0..spec.len(),
            options_range: None,
        });
    }

    let fields = Fields::scan(spec)?;
    let kind = match &fields.source {
        Some(range) if is_file_path(&spec[range.clone()]) => MountKind::Bind,
        Some(_) => MountKind::Named,
        None => MountKind::Anonymous,
    };
    let target_range = fields.target.unwrap_or(spec.len()..spec.len());
    Ok(ShortVolume {
        kind,
        source: fields.source.as_ref().map(|r| spec[r.clone()].to_owned()),
        target: spec[target_range.clone()].to_owned(),
        read_only: fields.read_only,
        nocopy: fields.nocopy,
        propagation: fields.propagation.map(str::to_owned),
        selinux: fields.selinux.map(str::to_owned),
        ignored_options: fields.ignored.into_iter().map(str::to_owned).collect(),
        source_range: fields.source,
        target_range,
        options_range: fields.options,
    })
}

/// The target of a short-syntax volume as [`parse_short`] reads it, without building the rest
/// (the uniqueness of a service's volumes is decided on it for every entry, twice per file).
pub(crate) fn short_target(spec: &str) -> Result<&str, VolumeSpecError> {
    if spec.is_empty() {
        return Err(VolumeSpecError::Empty);
    }
    if spec.len() <= 2 {
        return Ok(spec);
    }
    let fields = Fields::scan(spec)?;
    Ok(fields.target.map_or("", |r| &spec[r]))
}

/// Fields as compose-go's `populateFieldFromBuffer` fills them; later writes overwrite, which
/// only happens with embedded NULs.
#[derive(Default)]
struct Fields<'a> {
    source: Option<Range<usize>>,
    target: Option<Range<usize>>,
    options: Option<Range<usize>>,
    read_only: bool,
    nocopy: bool,
    propagation: Option<&'a str>,
    selinux: Option<&'a str>,
    ignored: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    /// The fields of a spec longer than two bytes, as compose-go's `ParseVolume` splits it.
    fn scan(spec: &'a str) -> Result<Fields<'a>, VolumeSpecError> {
        let mut fields = Fields::default();
        let bytes = spec.as_bytes();
        let mut depth: usize = 0;
        // Start of the field being scanned. Only `:`, `$`, `}` and NUL (all ASCII, so never inside
        // a multi-byte character) can change anything: the scan jumps from one to the next.
        let mut start = 0;
        let mut from = 0;
        loop {
            let special = bytes[from..]
                .iter()
                .position(|&b| matches!(b, b':' | b'$' | b'}' | 0));
            // The end of the spec reads as NUL: compose-go's end marker.
            let (at, byte) = special.map_or((spec.len(), 0), |p| (from + p, bytes[from + p]));
            match byte {
                b'$' if bytes.get(at + 1) == Some(&b'{') => depth += 1,
                b'}' if depth > 0 => depth -= 1,
                // Windows drive letter: the colon belongs to the field.
                b':' if is_drive_letter(&spec[start..at]) => {}
                b':' | 0 if depth == 0 => {
                    fields.close(spec, start..at, byte == 0)?;
                    start = at + 1;
                }
                _ => {}
            }
            if at == spec.len() {
                break;
            }
            from = at + 1;
        }
        Ok(fields)
    }

    fn close(
        &mut self,
        spec: &'a str,
        range: Range<usize>,
        at_end: bool,
    ) -> Result<(), VolumeSpecError> {
        if range.is_empty() {
            return Err(VolumeSpecError::EmptySection);
        }
        if self.source.is_none() && at_end {
            self.target = Some(range);
        } else if self.source.is_none() {
            self.source = Some(range);
        } else if self.target.is_none() {
            self.target = Some(range);
        } else if !at_end {
            return Err(VolumeSpecError::TooManyColons);
        } else {
            for option in spec[range.clone()].split(',') {
                match option {
                    "ro" => self.read_only = true,
                    "rw" => self.read_only = false,
                    "nocopy" => self.nocopy = true,
                    "z" | "Z" => self.selinux = Some(option),
                    _ if PROPAGATIONS.contains(&option) => self.propagation = Some(option),
                    _ => self.ignored.push(option),
                }
            }
            self.options = Some(range);
        }
        Ok(())
    }
}

/// A field that is exactly one letter, as Go's `unicode.IsLetter` sees it.
fn is_drive_letter(field: &str) -> bool {
    let mut chars = field.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if is_go_letter(c))
}

/// compose-go `isFilePath`: does a short-syntax source name a host path (bind) rather than a
/// volume?
pub(crate) fn is_file_path(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if matches!(first, '.' | '/' | '~') || s.starts_with("\\\\") {
        return true;
    }
    // compose-go looks at the BYTE after the first rune, so only an ASCII colon counts.
    s.as_bytes().get(first.len_utf8()) == Some(&b':') && is_go_letter(first)
}

/// Go's `path.Clean`: lexical, `/` separators only (backslashes are ordinary characters).
pub fn clean_path(p: &str) -> String {
    cleaned(p).into_owned()
}

/// [`clean_path`], borrowing a path that is clean already (most are: one look at their bytes).
pub(crate) fn cleaned(p: &str) -> Cow<'_, str> {
    if is_clean(p) {
        return Cow::Borrowed(p);
    }
    // Built in place, as Go does: no list of parts, one allocation.
    let rooted = p.starts_with('/');
    let mut out = String::with_capacity(p.len().max(1));
    if rooted {
        out.push('/');
    }
    let root = out.len();
    // Where the leading `..`s of a relative path end: `..` cannot remove them.
    let mut kept = root;
    // The parts between slashes (`split('/')` searched for each slash anew: slower on paths).
    let mut start = 0;
    for end in memchr::memchr_iter(b'/', p.as_bytes()).chain([p.len()]) {
        let part = &p[start..end];
        start = end + 1;
        match part {
            "" | "." => {}
            ".." if out.len() > kept => {
                let cut = out[kept..].rfind('/').map_or(kept, |slash| kept + slash);
                out.truncate(cut);
            }
            // A rooted path cannot go above `/`; a relative one keeps leading `..`.
            ".." if rooted => {}
            _ => {
                if out.len() > root {
                    out.push('/');
                }
                out.push_str(part);
                if part == ".." {
                    kept = out.len();
                }
            }
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    Cow::Owned(out)
}

/// Whether [`clean_path`] leaves `p` as it is: `/`, or parts that are neither empty, `.` nor
/// `..`, optionally after one leading `/`.
fn is_clean(p: &str) -> bool {
    let body = p.strip_prefix('/').unwrap_or(p).as_bytes();
    if body.is_empty() {
        return p == "/";
    }
    let mut start = 0;
    for end in 0..=body.len() {
        if end == body.len() || body[end] == b'/' {
            if matches!(&body[start..end], b"" | b"." | b"..") {
                return false;
            }
            start = end + 1;
        }
    }
    true
}

/// Go's `filepath.Join` on Unix: empty elements are skipped, the rest joined and cleaned.
fn join_path(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean_path(rest),
        (false, true) => clean_path(base),
        (false, false) => {
            let joined = [base, rest].join("/");
            match cleaned(&joined) {
                // Already clean (most joins): the joined text is the result, not a copy of it.
                Cow::Borrowed(_) => joined,
                Cow::Owned(clean) => clean,
            }
        }
    }
}

/// compose-go `paths.IsWindowsAbs`, which follows current Go's Windows `filepath.IsAbs`: any
/// byte before `:` counts as a drive (`1:/x` is absolute), and anything starting with two
/// separators (`\\server\share`, `\\.\pipe\x`, `//server`, even `\\`) is a UNC or device path.
/// Checked against docker compose v2.40.3.
pub(crate) fn is_windows_abs(p: &str) -> bool {
    let is_sep = |b: u8| b == b'\\' || b == b'/';
    match p.as_bytes() {
        [_, b':', rest @ ..] => rest.first().is_some_and(|&b| is_sep(b)),
        [a, b, ..] => is_sep(*a) && is_sep(*b),
        _ => false,
    }
}

/// How compose resolves a bind source against the project directory (compose-go
/// `paths.maybeUnixPath`): `~` expands to `home` (`~user/x` becomes `home/user/x`: there is
/// no per-user lookup), then absolute Unix or Windows paths are kept verbatim (not cleaned),
/// and anything else is joined to `project_dir` and cleaned.
///
/// An empty `home` leaves `~` alone, as compose-go does when `$HOME` is unset.
pub fn resolve_bind_source(source: &str, project_dir: &str, home: &str) -> String {
    let expanded = match source.strip_prefix('~') {
        Some(rest) if !home.is_empty() => join_path(home, rest),
        _ => source.to_owned(),
    };
    if expanded.starts_with('/') || is_windows_abs(&expanded) {
        expanded
    } else {
        join_path(project_dir, &expanded)
    }
}

/// Parse one service-level `tmpfs:` entry (`/run` or `/run:size=64m,mode=1777`) into target
/// and options. Docker compose splits at the first colon only; an empty option string is the
/// same as none for the engine, so it is reported as `None`.
pub(crate) fn parse_tmpfs_entry(entry: &str) -> (String, Option<String>) {
    match entry.split_once(':') {
        Some((target, options)) if !options.is_empty() => {
            (target.to_owned(), Some(options.to_owned()))
        }
        Some((target, _)) => (target.to_owned(), None),
        None => (entry.to_owned(), None),
    }
}

/// What a mount's data survives, as measured on a real engine (compose-volumes.md §10; the
/// end-to-end tests in tests/engine.rs hold every column to the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Survives {
    /// `restart`, `stop` + `start`, `up` with nothing changed.
    pub(crate) restart: bool,
    /// `up` that recreates the container (config or image change, `--force-recreate`).
    pub(crate) recreate: bool,
    /// `down` then `up`.
    pub(crate) down_up: bool,
    /// `down -v` / `--volumes`, then `up`.
    pub(crate) down_volumes: bool,
    /// `up -V` / `--renew-anon-volumes`.
    pub(crate) up_renew: bool,
    /// `rm -sf` (stop and remove the container), then `up`.
    pub(crate) rm_up: bool,
    /// `rm -sfv` (also removes the container's anonymous volumes), then `up`.
    pub(crate) rm_volumes_up: bool,
}

impl Survives {
    const ALL: Survives = Survives {
        restart: true,
        recreate: true,
        down_up: true,
        down_volumes: true,
        up_renew: true,
        rm_up: true,
        rm_volumes_up: true,
    };
    const NOTHING: Survives = Survives {
        restart: false,
        recreate: false,
        down_up: false,
        down_volumes: false,
        up_renew: false,
        rm_up: false,
        rm_volumes_up: false,
    };
    /// Data in the container's own writable layer (nothing mounted on its path): kept while the
    /// container exists, lost with it.
    pub const CONTAINER_LAYER: Survives = Survives {
        restart: true,
        ..Survives::NOTHING
    };

    /// Whether every lifecycle command short of deleting volumes on purpose (`down -v`,
    /// `rm -v`) keeps the data.
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
    pub(crate) fn persistent(&self) -> bool {
        self.restart && self.recreate && self.down_up && self.up_renew && self.rm_up
    }
}

/// What holds the data of a named volume, from its top-level declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VolumeBacking {
    /// A volume of the project: `down -v` removes it.
    Project,
    /// `external: true`: compose never removes it.
    External,
    /// The local driver bound to a host directory (`driver_opts` `o: bind` + `device`): `down -v`
    /// removes the volume object, not the files.
    HostDirectory,
    /// The local driver on tmpfs (`driver_opts` `type: tmpfs`): memory, emptied whenever the
    /// container stops.
    Memory,
}

/// What a mount of `kind` survives; `backing` says what holds a named volume's data (ignored for
/// kinds that are not volumes).
pub(crate) fn survives(kind: MountKind, backing: VolumeBacking) -> Survives {
    match kind {
        // Host objects: compose never deletes host files or pipes.
        MountKind::Bind | MountKind::Npipe => Survives::ALL,
        // Read-only content taken from an image: nothing is written there, so nothing can be
        // lost; the content comes back whenever the image is present.
        MountKind::Image => Survives::ALL,
        // `down -v` removes every non-external top-level volume by name whatever the mount
        // type, so a cluster volume is treated like a named one. Compose cannot create cluster
        // (CSI) volumes, so in practice they are declared external and survive everything.
        MountKind::Named | MountKind::Cluster => match backing {
            VolumeBacking::Project => Survives {
                down_volumes: false,
                ..Survives::ALL
            },
            VolumeBacking::External | VolumeBacking::HostDirectory => Survives::ALL,
            VolumeBacking::Memory => Survives::NOTHING,
        },
        // Re-attached by destination on recreate, but never by a fresh container: orphaned by
        // `down` + `up`, `up -V` and `rm`, deleted by `down -v` and `rm -v`.
        MountKind::Anonymous => Survives {
            restart: true,
            recreate: true,
            ..Survives::NOTHING
        },
        // Memory only: gone as soon as the container stops.
        MountKind::Tmpfs => Survives::NOTHING,
    }
}

/// Go's `unicode.IsLetter` (general category L). Rust's `char::is_alphabetic` is broader
/// (it includes `Nl` and `Other_Alphabetic`: `Ⓐ`, `Ⅻ`, combining marks), and compose reads
/// `Ⓐ:/data` as the named volume `Ⓐ`, so the table below is needed for the drive rule.
fn is_go_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    let c = u32::from(c);
    LETTER_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Non-ASCII ranges of general category L in Unicode 15.0.0, the version of Go 1.24's
/// `unicode` package (docker compose v2.40.3 is built with go1.24.9). Generated with
/// Python 3.12 `unicodedata` (also 15.0.0): maximal runs of code points whose category
/// starts with `L`.
#[rustfmt::skip]
const LETTER_RANGES: &[(u32, u32)] = &[
    (0xAA, 0xAA), (0xB5, 0xB5), (0xBA, 0xBA), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x2C1),
    (0x2C6, 0x2D1), (0x2E0, 0x2E4), (0x2EC, 0x2EC), (0x2EE, 0x2EE), (0x370, 0x374),
    (0x376, 0x377), (0x37A, 0x37D), (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A),
    (0x38C, 0x38C), (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F),
    (0x531, 0x556), (0x559, 0x559), (0x560, 0x588), (0x5D0, 0x5EA), (0x5EF, 0x5F2),
    (0x620, 0x64A), (0x66E, 0x66F), (0x671, 0x6D3), (0x6D5, 0x6D5), (0x6E5, 0x6E6),
    (0x6EE, 0x6EF), (0x6FA, 0x6FC), (0x6FF, 0x6FF), (0x710, 0x710), (0x712, 0x72F),
    (0x74D, 0x7A5), (0x7B1, 0x7B1), (0x7CA, 0x7EA), (0x7F4, 0x7F5), (0x7FA, 0x7FA),
    (0x800, 0x815), (0x81A, 0x81A), (0x824, 0x824), (0x828, 0x828), (0x840, 0x858),
    (0x860, 0x86A), (0x870, 0x887), (0x889, 0x88E), (0x8A0, 0x8C9), (0x904, 0x939),
    (0x93D, 0x93D), (0x950, 0x950), (0x958, 0x961), (0x971, 0x980), (0x985, 0x98C),
    (0x98F, 0x990), (0x993, 0x9A8), (0x9AA, 0x9B0), (0x9B2, 0x9B2), (0x9B6, 0x9B9),
    (0x9BD, 0x9BD), (0x9CE, 0x9CE), (0x9DC, 0x9DD), (0x9DF, 0x9E1), (0x9F0, 0x9F1),
    (0x9FC, 0x9FC), (0xA05, 0xA0A), (0xA0F, 0xA10), (0xA13, 0xA28), (0xA2A, 0xA30),
    (0xA32, 0xA33), (0xA35, 0xA36), (0xA38, 0xA39), (0xA59, 0xA5C), (0xA5E, 0xA5E),
    (0xA72, 0xA74), (0xA85, 0xA8D), (0xA8F, 0xA91), (0xA93, 0xAA8), (0xAAA, 0xAB0),
    (0xAB2, 0xAB3), (0xAB5, 0xAB9), (0xABD, 0xABD), (0xAD0, 0xAD0), (0xAE0, 0xAE1),
    (0xAF9, 0xAF9), (0xB05, 0xB0C), (0xB0F, 0xB10), (0xB13, 0xB28), (0xB2A, 0xB30),
    (0xB32, 0xB33), (0xB35, 0xB39), (0xB3D, 0xB3D), (0xB5C, 0xB5D), (0xB5F, 0xB61),
    (0xB71, 0xB71), (0xB83, 0xB83), (0xB85, 0xB8A), (0xB8E, 0xB90), (0xB92, 0xB95),
    (0xB99, 0xB9A), (0xB9C, 0xB9C), (0xB9E, 0xB9F), (0xBA3, 0xBA4), (0xBA8, 0xBAA),
    (0xBAE, 0xBB9), (0xBD0, 0xBD0), (0xC05, 0xC0C), (0xC0E, 0xC10), (0xC12, 0xC28),
    (0xC2A, 0xC39), (0xC3D, 0xC3D), (0xC58, 0xC5A), (0xC5D, 0xC5D), (0xC60, 0xC61),
    (0xC80, 0xC80), (0xC85, 0xC8C), (0xC8E, 0xC90), (0xC92, 0xCA8), (0xCAA, 0xCB3),
    (0xCB5, 0xCB9), (0xCBD, 0xCBD), (0xCDD, 0xCDE), (0xCE0, 0xCE1), (0xCF1, 0xCF2),
    (0xD04, 0xD0C), (0xD0E, 0xD10), (0xD12, 0xD3A), (0xD3D, 0xD3D), (0xD4E, 0xD4E),
    (0xD54, 0xD56), (0xD5F, 0xD61), (0xD7A, 0xD7F), (0xD85, 0xD96), (0xD9A, 0xDB1),
    (0xDB3, 0xDBB), (0xDBD, 0xDBD), (0xDC0, 0xDC6), (0xE01, 0xE30), (0xE32, 0xE33),
    (0xE40, 0xE46), (0xE81, 0xE82), (0xE84, 0xE84), (0xE86, 0xE8A), (0xE8C, 0xEA3),
    (0xEA5, 0xEA5), (0xEA7, 0xEB0), (0xEB2, 0xEB3), (0xEBD, 0xEBD), (0xEC0, 0xEC4),
    (0xEC6, 0xEC6), (0xEDC, 0xEDF), (0xF00, 0xF00), (0xF40, 0xF47), (0xF49, 0xF6C),
    (0xF88, 0xF8C), (0x1000, 0x102A), (0x103F, 0x103F), (0x1050, 0x1055), (0x105A, 0x105D),
    (0x1061, 0x1061), (0x1065, 0x1066), (0x106E, 0x1070), (0x1075, 0x1081), (0x108E, 0x108E),
    (0x10A0, 0x10C5), (0x10C7, 0x10C7), (0x10CD, 0x10CD), (0x10D0, 0x10FA), (0x10FC, 0x1248),
    (0x124A, 0x124D), (0x1250, 0x1256), (0x1258, 0x1258), (0x125A, 0x125D), (0x1260, 0x1288),
    (0x128A, 0x128D), (0x1290, 0x12B0), (0x12B2, 0x12B5), (0x12B8, 0x12BE), (0x12C0, 0x12C0),
    (0x12C2, 0x12C5), (0x12C8, 0x12D6), (0x12D8, 0x1310), (0x1312, 0x1315), (0x1318, 0x135A),
    (0x1380, 0x138F), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1401, 0x166C), (0x166F, 0x167F),
    (0x1681, 0x169A), (0x16A0, 0x16EA), (0x16F1, 0x16F8), (0x1700, 0x1711), (0x171F, 0x1731),
    (0x1740, 0x1751), (0x1760, 0x176C), (0x176E, 0x1770), (0x1780, 0x17B3), (0x17D7, 0x17D7),
    (0x17DC, 0x17DC), (0x1820, 0x1878), (0x1880, 0x1884), (0x1887, 0x18A8), (0x18AA, 0x18AA),
    (0x18B0, 0x18F5), (0x1900, 0x191E), (0x1950, 0x196D), (0x1970, 0x1974), (0x1980, 0x19AB),
    (0x19B0, 0x19C9), (0x1A00, 0x1A16), (0x1A20, 0x1A54), (0x1AA7, 0x1AA7), (0x1B05, 0x1B33),
    (0x1B45, 0x1B4C), (0x1B83, 0x1BA0), (0x1BAE, 0x1BAF), (0x1BBA, 0x1BE5), (0x1C00, 0x1C23),
    (0x1C4D, 0x1C4F), (0x1C5A, 0x1C7D), (0x1C80, 0x1C88), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF),
    (0x1CE9, 0x1CEC), (0x1CEE, 0x1CF3), (0x1CF5, 0x1CF6), (0x1CFA, 0x1CFA), (0x1D00, 0x1DBF),
    (0x1E00, 0x1F15), (0x1F18, 0x1F1D), (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57),
    (0x1F59, 0x1F59), (0x1F5B, 0x1F5B), (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4),
    (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE), (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3),
    (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC), (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2071, 0x2071),
    (0x207F, 0x207F), (0x2090, 0x209C), (0x2102, 0x2102), (0x2107, 0x2107), (0x210A, 0x2113),
    (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126), (0x2128, 0x2128),
    (0x212A, 0x212D), (0x212F, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149), (0x214E, 0x214E),
    (0x2183, 0x2184), (0x2C00, 0x2CE4), (0x2CEB, 0x2CEE), (0x2CF2, 0x2CF3), (0x2D00, 0x2D25),
    (0x2D27, 0x2D27), (0x2D2D, 0x2D2D), (0x2D30, 0x2D67), (0x2D6F, 0x2D6F), (0x2D80, 0x2D96),
    (0x2DA0, 0x2DA6), (0x2DA8, 0x2DAE), (0x2DB0, 0x2DB6), (0x2DB8, 0x2DBE), (0x2DC0, 0x2DC6),
    (0x2DC8, 0x2DCE), (0x2DD0, 0x2DD6), (0x2DD8, 0x2DDE), (0x2E2F, 0x2E2F), (0x3005, 0x3006),
    (0x3031, 0x3035), (0x303B, 0x303C), (0x3041, 0x3096), (0x309D, 0x309F), (0x30A1, 0x30FA),
    (0x30FC, 0x30FF), (0x3105, 0x312F), (0x3131, 0x318E), (0x31A0, 0x31BF), (0x31F0, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0xA48C), (0xA4D0, 0xA4FD), (0xA500, 0xA60C), (0xA610, 0xA61F),
    (0xA62A, 0xA62B), (0xA640, 0xA66E), (0xA67F, 0xA69D), (0xA6A0, 0xA6E5), (0xA717, 0xA71F),
    (0xA722, 0xA788), (0xA78B, 0xA7CA), (0xA7D0, 0xA7D1), (0xA7D3, 0xA7D3), (0xA7D5, 0xA7D9),
    (0xA7F2, 0xA801), (0xA803, 0xA805), (0xA807, 0xA80A), (0xA80C, 0xA822), (0xA840, 0xA873),
    (0xA882, 0xA8B3), (0xA8F2, 0xA8F7), (0xA8FB, 0xA8FB), (0xA8FD, 0xA8FE), (0xA90A, 0xA925),
    (0xA930, 0xA946), (0xA960, 0xA97C), (0xA984, 0xA9B2), (0xA9CF, 0xA9CF), (0xA9E0, 0xA9E4),
    (0xA9E6, 0xA9EF), (0xA9FA, 0xA9FE), (0xAA00, 0xAA28), (0xAA40, 0xAA42), (0xAA44, 0xAA4B),
    (0xAA60, 0xAA76), (0xAA7A, 0xAA7A), (0xAA7E, 0xAAAF), (0xAAB1, 0xAAB1), (0xAAB5, 0xAAB6),
    (0xAAB9, 0xAABD), (0xAAC0, 0xAAC0), (0xAAC2, 0xAAC2), (0xAADB, 0xAADD), (0xAAE0, 0xAAEA),
    (0xAAF2, 0xAAF4), (0xAB01, 0xAB06), (0xAB09, 0xAB0E), (0xAB11, 0xAB16), (0xAB20, 0xAB26),
    (0xAB28, 0xAB2E), (0xAB30, 0xAB5A), (0xAB5C, 0xAB69), (0xAB70, 0xABE2), (0xAC00, 0xD7A3),
    (0xD7B0, 0xD7C6), (0xD7CB, 0xD7FB), (0xF900, 0xFA6D), (0xFA70, 0xFAD9), (0xFB00, 0xFB06),
    (0xFB13, 0xFB17), (0xFB1D, 0xFB1D), (0xFB1F, 0xFB28), (0xFB2A, 0xFB36), (0xFB38, 0xFB3C),
    (0xFB3E, 0xFB3E), (0xFB40, 0xFB41), (0xFB43, 0xFB44), (0xFB46, 0xFBB1), (0xFBD3, 0xFD3D),
    (0xFD50, 0xFD8F), (0xFD92, 0xFDC7), (0xFDF0, 0xFDFB), (0xFE70, 0xFE74), (0xFE76, 0xFEFC),
    (0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0xFF66, 0xFFBE), (0xFFC2, 0xFFC7), (0xFFCA, 0xFFCF),
    (0xFFD2, 0xFFD7), (0xFFDA, 0xFFDC), (0x10000, 0x1000B), (0x1000D, 0x10026),
    (0x10028, 0x1003A), (0x1003C, 0x1003D), (0x1003F, 0x1004D), (0x10050, 0x1005D),
    (0x10080, 0x100FA), (0x10280, 0x1029C), (0x102A0, 0x102D0), (0x10300, 0x1031F),
    (0x1032D, 0x10340), (0x10342, 0x10349), (0x10350, 0x10375), (0x10380, 0x1039D),
    (0x103A0, 0x103C3), (0x103C8, 0x103CF), (0x10400, 0x1049D), (0x104B0, 0x104D3),
    (0x104D8, 0x104FB), (0x10500, 0x10527), (0x10530, 0x10563), (0x10570, 0x1057A),
    (0x1057C, 0x1058A), (0x1058C, 0x10592), (0x10594, 0x10595), (0x10597, 0x105A1),
    (0x105A3, 0x105B1), (0x105B3, 0x105B9), (0x105BB, 0x105BC), (0x10600, 0x10736),
    (0x10740, 0x10755), (0x10760, 0x10767), (0x10780, 0x10785), (0x10787, 0x107B0),
    (0x107B2, 0x107BA), (0x10800, 0x10805), (0x10808, 0x10808), (0x1080A, 0x10835),
    (0x10837, 0x10838), (0x1083C, 0x1083C), (0x1083F, 0x10855), (0x10860, 0x10876),
    (0x10880, 0x1089E), (0x108E0, 0x108F2), (0x108F4, 0x108F5), (0x10900, 0x10915),
    (0x10920, 0x10939), (0x10980, 0x109B7), (0x109BE, 0x109BF), (0x10A00, 0x10A00),
    (0x10A10, 0x10A13), (0x10A15, 0x10A17), (0x10A19, 0x10A35), (0x10A60, 0x10A7C),
    (0x10A80, 0x10A9C), (0x10AC0, 0x10AC7), (0x10AC9, 0x10AE4), (0x10B00, 0x10B35),
    (0x10B40, 0x10B55), (0x10B60, 0x10B72), (0x10B80, 0x10B91), (0x10C00, 0x10C48),
    (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x10D00, 0x10D23), (0x10E80, 0x10EA9),
    (0x10EB0, 0x10EB1), (0x10F00, 0x10F1C), (0x10F27, 0x10F27), (0x10F30, 0x10F45),
    (0x10F70, 0x10F81), (0x10FB0, 0x10FC4), (0x10FE0, 0x10FF6), (0x11003, 0x11037),
    (0x11071, 0x11072), (0x11075, 0x11075), (0x11083, 0x110AF), (0x110D0, 0x110E8),
    (0x11103, 0x11126), (0x11144, 0x11144), (0x11147, 0x11147), (0x11150, 0x11172),
    (0x11176, 0x11176), (0x11183, 0x111B2), (0x111C1, 0x111C4), (0x111DA, 0x111DA),
    (0x111DC, 0x111DC), (0x11200, 0x11211), (0x11213, 0x1122B), (0x1123F, 0x11240),
    (0x11280, 0x11286), (0x11288, 0x11288), (0x1128A, 0x1128D), (0x1128F, 0x1129D),
    (0x1129F, 0x112A8), (0x112B0, 0x112DE), (0x11305, 0x1130C), (0x1130F, 0x11310),
    (0x11313, 0x11328), (0x1132A, 0x11330), (0x11332, 0x11333), (0x11335, 0x11339),
    (0x1133D, 0x1133D), (0x11350, 0x11350), (0x1135D, 0x11361), (0x11400, 0x11434),
    (0x11447, 0x1144A), (0x1145F, 0x11461), (0x11480, 0x114AF), (0x114C4, 0x114C5),
    (0x114C7, 0x114C7), (0x11580, 0x115AE), (0x115D8, 0x115DB), (0x11600, 0x1162F),
    (0x11644, 0x11644), (0x11680, 0x116AA), (0x116B8, 0x116B8), (0x11700, 0x1171A),
    (0x11740, 0x11746), (0x11800, 0x1182B), (0x118A0, 0x118DF), (0x118FF, 0x11906),
    (0x11909, 0x11909), (0x1190C, 0x11913), (0x11915, 0x11916), (0x11918, 0x1192F),
    (0x1193F, 0x1193F), (0x11941, 0x11941), (0x119A0, 0x119A7), (0x119AA, 0x119D0),
    (0x119E1, 0x119E1), (0x119E3, 0x119E3), (0x11A00, 0x11A00), (0x11A0B, 0x11A32),
    (0x11A3A, 0x11A3A), (0x11A50, 0x11A50), (0x11A5C, 0x11A89), (0x11A9D, 0x11A9D),
    (0x11AB0, 0x11AF8), (0x11C00, 0x11C08), (0x11C0A, 0x11C2E), (0x11C40, 0x11C40),
    (0x11C72, 0x11C8F), (0x11D00, 0x11D06), (0x11D08, 0x11D09), (0x11D0B, 0x11D30),
    (0x11D46, 0x11D46), (0x11D60, 0x11D65), (0x11D67, 0x11D68), (0x11D6A, 0x11D89),
    (0x11D98, 0x11D98), (0x11EE0, 0x11EF2), (0x11F02, 0x11F02), (0x11F04, 0x11F10),
    (0x11F12, 0x11F33), (0x11FB0, 0x11FB0), (0x12000, 0x12399), (0x12480, 0x12543),
    (0x12F90, 0x12FF0), (0x13000, 0x1342F), (0x13441, 0x13446), (0x14400, 0x14646),
    (0x16800, 0x16A38), (0x16A40, 0x16A5E), (0x16A70, 0x16ABE), (0x16AD0, 0x16AED),
    (0x16B00, 0x16B2F), (0x16B40, 0x16B43), (0x16B63, 0x16B77), (0x16B7D, 0x16B8F),
    (0x16E40, 0x16E7F), (0x16F00, 0x16F4A), (0x16F50, 0x16F50), (0x16F93, 0x16F9F),
    (0x16FE0, 0x16FE1), (0x16FE3, 0x16FE3), (0x17000, 0x187F7), (0x18800, 0x18CD5),
    (0x18D00, 0x18D08), (0x1AFF0, 0x1AFF3), (0x1AFF5, 0x1AFFB), (0x1AFFD, 0x1AFFE),
    (0x1B000, 0x1B122), (0x1B132, 0x1B132), (0x1B150, 0x1B152), (0x1B155, 0x1B155),
    (0x1B164, 0x1B167), (0x1B170, 0x1B2FB), (0x1BC00, 0x1BC6A), (0x1BC70, 0x1BC7C),
    (0x1BC80, 0x1BC88), (0x1BC90, 0x1BC99), (0x1D400, 0x1D454), (0x1D456, 0x1D49C),
    (0x1D49E, 0x1D49F), (0x1D4A2, 0x1D4A2), (0x1D4A5, 0x1D4A6), (0x1D4A9, 0x1D4AC),
    (0x1D4AE, 0x1D4B9), (0x1D4BB, 0x1D4BB), (0x1D4BD, 0x1D4C3), (0x1D4C5, 0x1D505),
    (0x1D507, 0x1D50A), (0x1D50D, 0x1D514), (0x1D516, 0x1D51C), (0x1D51E, 0x1D539),
    (0x1D53B, 0x1D53E), (0x1D540, 0x1D544), (0x1D546, 0x1D546), (0x1D54A, 0x1D550),
    (0x1D552, 0x1D6A5), (0x1D6A8, 0x1D6C0), (0x1D6C2, 0x1D6DA), (0x1D6DC, 0x1D6FA),
    (0x1D6FC, 0x1D714), (0x1D716, 0x1D734), (0x1D736, 0x1D74E), (0x1D750, 0x1D76E),
    (0x1D770, 0x1D788), (0x1D78A, 0x1D7A8), (0x1D7AA, 0x1D7C2), (0x1D7C4, 0x1D7CB),
    (0x1DF00, 0x1DF1E), (0x1DF25, 0x1DF2A), (0x1E030, 0x1E06D), (0x1E100, 0x1E12C),
    (0x1E137, 0x1E13D), (0x1E14E, 0x1E14E), (0x1E290, 0x1E2AD), (0x1E2C0, 0x1E2EB),
    (0x1E4D0, 0x1E4EB), (0x1E7E0, 0x1E7E6), (0x1E7E8, 0x1E7EB), (0x1E7ED, 0x1E7EE),
    (0x1E7F0, 0x1E7FE), (0x1E800, 0x1E8C4), (0x1E900, 0x1E943), (0x1E94B, 0x1E94B),
    (0x1EE00, 0x1EE03), (0x1EE05, 0x1EE1F), (0x1EE21, 0x1EE22), (0x1EE24, 0x1EE24),
    (0x1EE27, 0x1EE27), (0x1EE29, 0x1EE32), (0x1EE34, 0x1EE37), (0x1EE39, 0x1EE39),
    (0x1EE3B, 0x1EE3B), (0x1EE42, 0x1EE42), (0x1EE47, 0x1EE47), (0x1EE49, 0x1EE49),
    (0x1EE4B, 0x1EE4B), (0x1EE4D, 0x1EE4F), (0x1EE51, 0x1EE52), (0x1EE54, 0x1EE54),
    (0x1EE57, 0x1EE57), (0x1EE59, 0x1EE59), (0x1EE5B, 0x1EE5B), (0x1EE5D, 0x1EE5D),
    (0x1EE5F, 0x1EE5F), (0x1EE61, 0x1EE62), (0x1EE64, 0x1EE64), (0x1EE67, 0x1EE6A),
    (0x1EE6C, 0x1EE72), (0x1EE74, 0x1EE77), (0x1EE79, 0x1EE7C), (0x1EE7E, 0x1EE7E),
    (0x1EE80, 0x1EE89), (0x1EE8B, 0x1EE9B), (0x1EEA1, 0x1EEA3), (0x1EEA5, 0x1EEA9),
    (0x1EEAB, 0x1EEBB), (0x20000, 0x2A6DF), (0x2A700, 0x2B739), (0x2B740, 0x2B81D),
    (0x2B820, 0x2CEA1), (0x2CEB0, 0x2EBE0), (0x2F800, 0x2FA1D), (0x30000, 0x3134A),
    (0x31350, 0x323AF),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_matches_go_path_clean() {
        // Go's src/path/path_test.go `cleantests`, plus a few from the brief.
        let cases = [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("a/b/c/", "a/b/c"),
            ("./", "."),
            ("../", ".."),
            ("../../", "../.."),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("///abc", "/abc"),
            ("//abc//", "/abc"),
            ("abc//", "abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
            ("a/../..", ".."),
            ("//a//b/./c/", "/a/b/c"),
            ("/..", "/"),
            ("/../a", "/a"),
            ("...", "..."),
            ("a/.../b", "a/.../b"),
            (".a/..b/", ".a/..b"),
            (r"C:\data\", r"C:\data\"),
            (r"d:\..\x", r"d:\..\x"),
            ("d:", "d:"),
            ("/data/", "/data"),
            ("/tmp/é//x/", "/tmp/é/x"),
        ];
        let failures: Vec<String> = cases
            .iter()
            .filter(|(input, want)| clean_path(input) != *want)
            .map(|(input, want)| format!("{input:?}: got {:?}, want {want:?}", clean_path(input)))
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn survives_follows_the_lifecycle_table() {
        use VolumeBacking::*;
        let all = Survives::ALL;
        assert_eq!(survives(MountKind::Bind, Project), all);
        assert_eq!(survives(MountKind::Npipe, Project), all);
        assert_eq!(survives(MountKind::Image, Project), all);
        assert_eq!(survives(MountKind::Named, External), all);
        assert_eq!(survives(MountKind::Named, HostDirectory), all);
        assert_eq!(survives(MountKind::Cluster, External), all);
        let project_owned = Survives {
            down_volumes: false,
            ..all
        };
        assert_eq!(survives(MountKind::Named, Project), project_owned);
        assert_eq!(survives(MountKind::Cluster, Project), project_owned);
        assert!(project_owned.persistent());
        let anonymous = Survives {
            restart: true,
            recreate: true,
            ..Survives::NOTHING
        };
        assert_eq!(survives(MountKind::Anonymous, Project), anonymous);
        assert_eq!(survives(MountKind::Anonymous, External), anonymous);
        assert!(!anonymous.persistent());
        assert_eq!(survives(MountKind::Tmpfs, Project), Survives::NOTHING);
        assert_eq!(survives(MountKind::Named, Memory), Survives::NOTHING);
    }

    #[test]
    fn survives_serialises_like_the_design() {
        let json = serde_json::to_string(&survives(MountKind::Anonymous, VolumeBacking::Project))
            .expect("json");
        assert_eq!(
            json,
            r#"{"restart":true,"recreate":true,"down_up":false,"down_volumes":false,"up_renew":false,"rm_up":false,"rm_volumes_up":false}"#
        );
    }

    #[test]
    fn mount_kind_names() {
        let kinds = [
            MountKind::Bind,
            MountKind::Named,
            MountKind::Anonymous,
            MountKind::Tmpfs,
            MountKind::Npipe,
            MountKind::Cluster,
            MountKind::Image,
        ];
        for kind in kinds {
            let json = serde_json::to_string(&kind).expect("json");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.to_string(), kind.as_str());
        }
    }

    #[test]
    fn tmpfs_entries() {
        assert_eq!(parse_tmpfs_entry("/run"), ("/run".to_owned(), None));
        assert_eq!(
            parse_tmpfs_entry("/run:size=64m,mode=1777"),
            ("/run".to_owned(), Some("size=64m,mode=1777".to_owned()))
        );
        assert_eq!(parse_tmpfs_entry("/run:"), ("/run".to_owned(), None));
        // Only the first colon splits.
        assert_eq!(
            parse_tmpfs_entry("/a:b:c"),
            ("/a".to_owned(), Some("b:c".to_owned()))
        );
        assert_eq!(parse_tmpfs_entry(""), (String::new(), None));
    }

    fn parsed(spec: &str) -> ShortVolume {
        match parse_short(spec) {
            Ok(volume) => volume,
            Err(err) => panic!("{spec:?}: {err}"),
        }
    }

    #[test]
    fn drive_rule_uses_go_letters_not_rust_alphabetic() {
        // Go letters (Lm, Lo): read as a drive, so the whole spec is an anonymous target.
        for spec in ["ʰ:/data", "ª:/data", "é:/data", "v:/data", "Ж:/x"] {
            let volume = parsed(spec);
            assert_eq!(volume.kind, MountKind::Anonymous, "{spec}");
            assert_eq!(volume.target, spec);
        }
        // Alphabetic in Rust but not letters in Go (So, Nl, Mn, Mc): named volumes, as
        // docker compose v2.40.3 reports.
        for (spec, source) in [
            ("Ⓐ:/data", "Ⓐ"),
            ("Ⅻ:/data", "Ⅻ"),
            ("\u{345}:/data", "\u{345}"),
            ("\u{903}:/d", "\u{903}"),
        ] {
            let volume = parsed(spec);
            assert_eq!(volume.kind, MountKind::Named, "{spec}");
            assert_eq!(volume.source.as_deref(), Some(source));
        }
    }

    #[test]
    fn short_specs_and_nul_quirks() {
        // 1–2 bytes: no scanning at all.
        assert_eq!(parsed(":").target, ":");
        assert_eq!(parsed("::").target, "::");
        assert_eq!(parsed("é").target, "é");
        // NUL ends a field like the end of the spec (checked with docker compose v2.40.3).
        let volume = parsed("ab\0cd:/x");
        assert_eq!(volume.kind, MountKind::Named);
        assert_eq!(volume.source.as_deref(), Some("cd"));
        assert_eq!(volume.target, "ab");
        assert!(!parsed("/a:/b:ro\0rw").read_only);
        assert_eq!(parsed("/a:/b\0/c").target, "/b");
        assert_eq!(parse_short("x:\0"), Err(VolumeSpecError::EmptySection));
        // An unclosed `${` swallows the rest of the spec.
        let volume = parsed("/a:/b:${x");
        assert_eq!(volume.kind, MountKind::Bind);
        assert_eq!(volume.target, "/b");
        assert_eq!(volume.options_range, None);
        let volume = parsed("${abc");
        assert_eq!(volume.kind, MountKind::Anonymous);
        assert_eq!(volume.target, "");
        assert_eq!(volume.target_range, 5..5);
    }

    #[test]
    fn options_are_case_sensitive_and_unknown_ones_are_kept_in_order() {
        let spec = "/a:/b:ro,,z,RO,cached,rshared,slave,Z,nocopy";
        let volume = parsed(spec);
        assert!(volume.read_only);
        assert!(volume.nocopy);
        assert_eq!(volume.selinux.as_deref(), Some("Z"));
        assert_eq!(volume.propagation.as_deref(), Some("slave"));
        assert_eq!(volume.ignored_options, ["", "RO", "cached"]);
        assert_eq!(volume.options_range, Some(6..spec.len()));
    }

    #[test]
    fn ranges_point_at_the_fields() {
        let spec = "./data:/var/lib/x:ro";
        let volume = parsed(spec);
        assert_eq!(volume.source_range.map(|r| &spec[r]), Some("./data"));
        assert_eq!(&spec[volume.target_range.clone()], "/var/lib/x");
        assert_eq!(volume.options_range.map(|r| &spec[r]), Some("ro"));
        let spec = "/tmp:/tmp/${TIME:-12:30:45}/path";
        let volume = parsed(spec);
        assert_eq!(
            &spec[volume.target_range.clone()],
            "/tmp/${TIME:-12:30:45}/path"
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            spec_error_message("", &VolumeSpecError::Empty),
            "invalid empty volume spec"
        );
        assert_eq!(
            spec_error_message("/a:/b:ro:x", &VolumeSpecError::TooManyColons),
            "invalid spec: /a:/b:ro:x: too many colons"
        );
    }

    #[test]
    fn windows_abs_and_resolution() {
        for (path, abs) in [
            (r"C:\", true),
            (r"c\", false),
            ("c::", false),
            ("c:", false),
            ("/", false),
            (r"\", false),
            (r"\Windows", false),
            (r"c:a\b", false),
            (r"c:\a\b", true),
            ("c:/a/b", true),
            (r"\\host\share\foo", true),
            ("//host/share/foo/bar", true),
            (r"\\server\share", true),
            (r"\\.\pipe\x", true),
            (r"\\", true),
            ("1:/x", true),
            ("é:/x", false),
        ] {
            assert_eq!(is_windows_abs(path), abs, "{path:?}");
        }
        // Observed with docker compose v2.40.3 (long-syntax bind sources, HOME=/home/u).
        let proj = "/tmp/mt/proj";
        for (source, want) in [
            ("1:/x", "1:/x"),
            (r"\\server\share", r"\\server\share"),
            ("//server", "//server"),
            ("c:", "/tmp/mt/proj/c:"),
            ("c:x", "/tmp/mt/proj/c:x"),
            ("/foo/../bar//", "/foo/../bar//"),
            ("~user/x/../y", "/home/u/user/y"),
            ("~", "/home/u"),
            ("é:/x", "/tmp/mt/proj/é:/x"),
            (r"\x", r"/tmp/mt/proj/\x"),
            (r"C:\x\..\y", r"C:\x\..\y"),
            ("./a/../../b", "/tmp/mt/b"),
            ("data", "/tmp/mt/proj/data"),
        ] {
            assert_eq!(
                resolve_bind_source(source, proj, "/home/u"),
                want,
                "{source:?}"
            );
        }
        // No home: compose-go leaves `~` unexpanded, so it ends up relative.
        assert_eq!(resolve_bind_source("~/x", proj, ""), "/tmp/mt/proj/~/x");
    }

    #[test]
    fn never_panics_ranges_hold_and_targets_agree() {
        // Small deterministic generator over the characters that matter to the scanner.
        let alphabet = [
            ":", "$", "{", "}", "\0", ",", "/", "\\", ".", "~", "a", "Z", "é", "Ⓐ", "ʰ", "😀",
            "ro", "z", "nocopy",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut spec = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 12) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                spec.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            assert_eq!(
                short_target(&spec).map(str::to_owned),
                parse_short(&spec).map(|v| v.target),
                "{spec:?}"
            );
            if let Ok(volume) = parse_short(&spec) {
                assert_eq!(&spec[volume.target_range.clone()], volume.target);
                assert_eq!(
                    volume.source_range.clone().map(|r| &spec[r]),
                    volume.source.as_deref()
                );
                if let Some(r) = volume.options_range.clone() {
                    assert!(spec.get(r).is_some());
                }
                assert!(matches!(
                    volume.kind,
                    MountKind::Bind | MountKind::Named | MountKind::Anonymous
                ));
            }
            let _ = clean_path(&spec);
            let _ = resolve_bind_source(&spec, "/p", "/h");
            let _ = is_file_path(&spec);
        }
    }

    #[test]
    fn long_inputs_stay_linear() {
        let nested = "${".repeat(200_000) + &"}".repeat(200_000) + ":/x";
        assert!(parse_short(&nested).is_ok());
        let colons = "a".repeat(100) + &":".repeat(500_000);
        assert_eq!(parse_short(&colons), Err(VolumeSpecError::EmptySection));
        let options = format!("/a:/b:{}", "x,".repeat(300_000));
        assert_eq!(parsed(&options).ignored_options.len(), 300_001);
        let _ = clean_path(&"../".repeat(300_000));
    }
}
