//! Image references: parsing and normalising `image:` values the way Docker does
//! (distribution/reference `ParseNormalizedNamed`), so that every spelling of a Docker Hub image
//! names one repository.

use std::fmt;

pub(super) const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
pub(super) const OFFICIAL_PREFIX: &str = "library/";
/// distribution/reference `NameTotalLengthMax`.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A normalised image reference (distribution/reference `ParseNormalizedNamed`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ImageRef {
    /// Registry host (with port), `docker.io` for Docker Hub.
    pub(crate) domain: String,
    /// Repository path inside the registry, `library/postgres` for official images.
    pub(crate) path: String,
    /// The tag as written; `None` when the reference has no tag (compose pulls `latest`
    /// unless a digest is given, see `ImageRef::effective_tag`).
    pub(crate) tag: Option<String>,
    /// `algorithm:hex` after the `@`.
    pub(crate) digest: Option<String>,
}

impl ImageRef {
    /// The normalised repository, e.g. `docker.io/library/postgres`.
    pub(crate) fn repository(&self) -> String {
        [self.domain.as_str(), "/", &self.path].concat()
    }

    /// The tag that is pulled: the written tag, or `latest` when there is neither a tag nor a
    /// digest. `None` for a digest-only reference (the digest may belong to any tag). The
    /// data file's matching examples state it; lookups apply the `latest` rule themselves.
    #[cfg(test)]
    pub(crate) fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// The short form people write: `postgres`, `bitnami/postgresql`, `ghcr.io/org/app`.
    pub(crate) fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_PREFIX) {
                Some(name) if !name.contains('/') => name.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.repository()
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar_name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Parses and normalises an image reference the way Docker does (distribution/reference):
/// `postgres` == `library/postgres` == `docker.io/library/postgres` ==
/// `index.docker.io/library/postgres`; the first component is a registry only when it contains
/// `.` or `:`, is `localhost`, or has an upper-case letter; the tag is a `:` after the last `/`
/// (so `localhost:5000/redis` has no tag); the digest follows the first `@`.
///
/// Returns `None` for an empty string, an image ID (64 hex digits, optionally `sha256:`-prefixed),
/// a reference that still contains `$` (unresolved interpolation: the image is not statically
/// known), and anything Docker would reject (upper case in the path, bad tag, bad digest).
pub(crate) fn parse_image_ref(s: &str) -> Option<ImageRef> {
    let s = s.trim();
    if s.is_empty() || s.contains('$') || s.chars().any(char::is_whitespace) || is_image_id(s) {
        return None;
    }
    let (name, digest) = match s.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !valid_digest(d)) {
        return None;
    }
    let last_component_start = name.rfind('/').map_or(0, |slash| slash + 1);
    let (name, tag) = match name[last_component_start..].find(':') {
        Some(colon) => {
            let split = last_component_start + colon;
            (&name[..split], Some(&name[split + 1..]))
        }
        None => (name, None),
    };
    if tag.is_some_and(|t| !valid_tag(t)) || name.is_empty() || name.len() > NAME_TOTAL_LENGTH_MAX {
        return None;
    }
    let (domain, path) = split_domain(name);
    if !valid_domain(&domain) || !path.split('/').all(valid_path_component) {
        return None;
    }
    Some(ImageRef {
        domain,
        path,
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

/// distribution/reference `splitDockerDomain`.
fn split_domain(name: &str) -> (String, String) {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_DOMAIN, name),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN {
        DEFAULT_DOMAIN
    } else {
        domain
    };
    let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
        [OFFICIAL_PREFIX, path].concat()
    } else {
        path.to_owned()
    };
    (domain.to_owned(), path)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_image_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    hex.len() == 64 && is_lower_hex(hex)
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `algorithm:encoded`; sha256 digests must be 64 lower-case hex digits.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    let sha256_ok = algorithm != "sha256" || (encoded.len() == 64 && is_lower_hex(encoded));
    algorithm_ok && encoded_ok && sha256_ok
}

/// `host[:port]` or `[ipv6][:port]`.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = if domain.starts_with('[') {
        match domain.find(']') {
            Some(end) => (&domain[..=end], &domain[end + 1..]),
            None => return false,
        }
    } else {
        match domain.rfind(':') {
            Some(colon) => (&domain[..colon], &domain[colon..]),
            None => (domain, ""),
        }
    };
    let port_ok = port.is_empty()
        || (port.len() > 1
            && port.starts_with(':')
            && port[1..].bytes().all(|b| b.is_ascii_digit()));
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => !ipv6.is_empty() && ipv6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        None => {
            !host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    };
    host_ok && port_ok
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let run_start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == run_start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if bytes.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::KnowledgeBase;

    fn repo(s: &str) -> String {
        parse_image_ref(s)
            .unwrap_or_else(|| panic!("{s} does not parse"))
            .repository()
    }

    #[test]
    fn docker_hub_spellings_are_one_repository() {
        for s in [
            "postgres",
            "library/postgres",
            "docker.io/postgres",
            "docker.io/library/postgres",
            "index.docker.io/library/postgres",
            "index.docker.io/postgres",
        ] {
            assert_eq!(repo(s), "docker.io/library/postgres", "{s}");
        }
        let r = parse_image_ref("postgres").expect("parses");
        assert_eq!((r.tag, r.digest), (None, None));
        assert_eq!(repo("bitnami/postgresql"), "docker.io/bitnami/postgresql");
    }

    #[test]
    fn tag_and_digest_split() {
        let digest = "sha256:0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7";
        let r = parse_image_ref(&format!("postgres:16@{digest}")).expect("parses");
        assert_eq!(r.tag.as_deref(), Some("16"));
        assert_eq!(r.digest.as_deref(), Some(digest));
        let digest_only = parse_image_ref(&format!("redis@{digest}")).expect("parses");
        assert_eq!(digest_only.tag, None);
        assert_eq!(digest_only.effective_tag(), None);
    }

    #[test]
    fn registry_with_port_is_not_a_tag() {
        let r = parse_image_ref("registry.example.com:5000/team/app:1.2").expect("parses");
        assert_eq!(r.domain, "registry.example.com:5000");
        assert_eq!(r.path, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        let r = parse_image_ref("localhost:5000/redis").expect("parses");
        assert_eq!(r.repository(), "localhost:5000/redis");
        assert_eq!(r.tag, None);
        let r = parse_image_ref("localhost/app:dev").expect("parses");
        assert_eq!(r.domain, "localhost");
        let r = parse_image_ref("[::1]:5000/app:7").expect("parses");
        assert_eq!(r.domain, "[::1]:5000");
        assert_eq!(r.tag.as_deref(), Some("7"));
        // no '/': `localhost:5000` is the image `localhost` with tag 5000, as in Docker
        let r = parse_image_ref("localhost:5000").expect("parses");
        assert_eq!(r.repository(), "docker.io/library/localhost");
        // a private registry is not Docker Hub
        let lookup = KnowledgeBase::builtin().lookup_str("localhost:5000/postgres:16", &|_| None);
        assert!(lookup.is_none());
    }

    #[test]
    fn refused_references() {
        for s in [
            "",
            "   ",
            "${PG_IMAGE}",
            "${PG_IMAGE:-postgres:16}",
            "postgres:${TAG}",
            "$REGISTRY/app",
            "0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7",
            "sha256:0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7",
            "Postgres",
            "docker.io/Library/postgres",
            "postgres:",
            ":16",
            "@sha256:0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7",
            "postgres@sha256:abc",
            "postgres@",
            "post gres",
            "postgres:-bad",
            "a//b",
            "/postgres",
            "postgres/",
            "-postgres",
            "postgres--",
            "a___b",
            "[::1/app",
        ] {
            assert_eq!(parse_image_ref(s), None, "{s:?}");
        }
        assert_eq!(repo("a__b"), "docker.io/library/a__b");
        assert_eq!(repo("a--b.c_d"), "docker.io/library/a--b.c_d");
    }

    #[test]
    fn familiar_names_and_display() {
        let show = |s: &str| parse_image_ref(s).expect("parses").to_string();
        assert_eq!(show("docker.io/library/postgres:16"), "postgres:16");
        assert_eq!(show("index.docker.io/bitnami/redis"), "bitnami/redis");
        assert_eq!(show("ghcr.io/org/app:1"), "ghcr.io/org/app:1");
    }
}
