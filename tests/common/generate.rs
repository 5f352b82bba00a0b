//! The seeded generator of awkward compose projects (tests/differential.rs compares stowage
//! with Docker Compose on them, tests/schema_differential.rs the schema interpreter with
//! jsonschema): both volume syntaxes with odd paths, `tmpfs`, `volumes_from`, interpolation from
//! `.env` and defaults, an override file, `extends` in the file and from another file, `include`,
//! anchors and merge keys, `!reset`/`!override`, profiles, values of the wrong type.

use std::fmt::Write as _;

/// SplitMix64: small, seeded, the same sequence everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SOURCES: &[&str] = &[
    "data",
    "cache",
    "./host",
    "./host/",
    "../up",
    "~/h",
    "/abs",
    "/abs/../x",
    ".",
    "${SRC}",
    "${UNSET:-./d}",
    "${EMPTY}",
    "$${LITERAL}",
    "undeclared",
    "with space",
];
const TARGETS: &[&str] = &[
    "/data",
    "/data/",
    "//data",
    "/data/..",
    "/data/./x",
    "/x/y",
    "/etc/x/",
    "/data//",
    "/",
    "rel",
    "${TGT}",
    "/d:ro",
    "/run",
    "/tmp",
];
const MODES: &[&str] = &[
    "", "", "", ":ro", ":rw", ":z", ":ro,z", ":nocopy", ":bad", ":ro:ro",
];
const TMPFS: &[&str] = &[
    "/run",
    "/run/",
    "/tmp:size=1m",
    "/data",
    "/x/y",
    "${TGT}",
    "rel",
];
const SCALAR_KEYS: &[(&str, &[&str])] = &[
    (
        "restart",
        &["always", "5", "unless-stopped", "${RESTART:-no}"],
    ),
    ("read_only", &["true", "'yes'", "maybe", "${RO:-false}"]),
    (
        "ports",
        &[
            "[80]",
            "['8080:80']",
            "['99999']",
            "80",
            "['127.0.0.1:81:80/udp']",
        ],
    ),
    ("environment", &["[A=1, A=2]", "{A: 1}", "5", "[B]"]),
    ("mem_limit", &["1g", "lots", "512m"]),
    ("depends_on", &["[]", "db"]),
    ("healthcheck", &["{test: [CMD, true]}", "yes"]),
    (
        "deploy",
        &["{replicas: 2}", "{replicas: two}", "{replicas: '3'}"],
    ),
    ("profiles", &["[debug]", "[other]"]),
];

/// One generated project: its files (relative path, text) and which are given with `-f`.
pub struct Generated {
    pub files: Vec<(String, String)>,
    pub main: Vec<String>,
}

pub fn volume_entry(rng: &mut Rng, out: &mut String, indent: &str) {
    if rng.chance(60) {
        let spec = if rng.chance(15) {
            rng.pick(TARGETS).to_owned()
        } else {
            format!(
                "{}:{}{}",
                rng.pick(SOURCES),
                rng.pick(TARGETS),
                rng.pick(MODES)
            )
        };
        let _ = writeln!(out, "{indent}- \"{spec}\"");
        return;
    }
    let ty = rng.pick(&[
        "volume", "bind", "tmpfs", "bind", "volume", "image", "npipe", "",
    ]);
    let _ = writeln!(out, "{indent}- target: \"{}\"", rng.pick(TARGETS));
    if !ty.is_empty() {
        let _ = writeln!(out, "{indent}  type: {ty}");
    }
    if rng.chance(80) && ty != "tmpfs" {
        let _ = writeln!(out, "{indent}  source: \"{}\"", rng.pick(SOURCES));
    }
    if rng.chance(25) {
        let _ = writeln!(
            out,
            "{indent}  read_only: {}",
            rng.pick(&["true", "false", "'yes'", "maybe"])
        );
    }
    match ty {
        "bind" if rng.chance(40) => {
            let _ = writeln!(
                out,
                "{indent}  bind: {{create_host_path: {}, selinux: {}}}",
                rng.pick(&["true", "false"]),
                rng.pick(&["z", "Z", "q"])
            );
        }
        "tmpfs" if rng.chance(50) => {
            let _ = writeln!(
                out,
                "{indent}  tmpfs: {{size: {}, mode: {}}}",
                rng.pick(&["100", "-1", "1m", "lots"]),
                rng.pick(&["0755", "'0755'", "493"])
            );
        }
        "volume" if rng.chance(40) => {
            let _ = writeln!(
                out,
                "{indent}  volume: {{nocopy: {}}}",
                rng.pick(&["true", "'yes'", "maybe"])
            );
        }
        _ => {}
    }
}

pub fn service(rng: &mut Rng, name: &str, others: &[&str], out: &mut String, anchored: bool) {
    let _ = writeln!(out, "  {name}:");
    if anchored {
        let _ = writeln!(out, "    <<: *base");
    }
    if rng.chance(95) {
        let _ = writeln!(out, "    image: alpine");
    }
    if rng.chance(80) {
        if anchored && rng.chance(40) {
            let _ = writeln!(out, "    volumes: !reset []");
        } else {
            let _ = writeln!(out, "    volumes:");
            for _ in 0..=rng.below(4) {
                volume_entry(rng, out, "      ");
            }
        }
    }
    if rng.chance(30) {
        if rng.chance(30) {
            let _ = writeln!(out, "    tmpfs: \"{}\"", rng.pick(TMPFS));
        } else {
            let _ = writeln!(out, "    tmpfs:");
            for _ in 0..=rng.below(2) {
                let _ = writeln!(out, "      - \"{}\"", rng.pick(TMPFS));
            }
        }
    }
    if rng.chance(20) && !others.is_empty() {
        let _ = writeln!(out, "    volumes_from:");
        for _ in 0..=rng.below(2) {
            let from = others[rng.below(others.len())];
            let _ = writeln!(out, "      - {from}{}", rng.pick(&["", ":ro", ":rw", ":x"]));
        }
    }
    if rng.chance(15) && !others.is_empty() {
        let base = others[rng.below(others.len())];
        let _ = writeln!(out, "    extends: {base}");
    }
    if rng.chance(25) {
        let (key, values) = SCALAR_KEYS[rng.below(SCALAR_KEYS.len())];
        let _ = writeln!(out, "    {key}: {}", rng.pick(values));
    }
}

pub fn generate(rng: &mut Rng) -> Generated {
    let names = ["web", "db", "job"];
    let count = 1 + rng.below(3);
    let mut main = String::new();
    if rng.chance(20) {
        let _ = writeln!(
            main,
            "name: {}",
            rng.pick(&["demo", "${NAME}", "Bad Name", "${EMPTY}"])
        );
    }
    let anchors = rng.chance(25);
    if anchors {
        main.push_str("x-base: &base\n  volumes:\n");
        for _ in 0..=rng.below(2) {
            volume_entry(rng, &mut main, "    ");
        }
    }
    let include = rng.chance(15);
    if include {
        main.push_str("include:\n  - inc.yaml\n");
    }
    main.push_str("services:\n");
    for i in 0..count {
        let others: Vec<&str> = names[..count]
            .iter()
            .copied()
            .filter(|n| *n != names[i])
            .collect();
        let anchored = anchors && rng.chance(60);
        service(rng, names[i], &others, &mut main, anchored);
    }
    if rng.chance(15) {
        main.push_str("  ext:\n    extends:\n      file: base.yaml\n      service: b\n");
    }
    if rng.chance(70) {
        main.push_str("volumes:\n");
        for key in ["data", "cache", "undeclared"] {
            if rng.chance(60) {
                let _ = writeln!(
                    main,
                    "  {key}:{}",
                    rng.pick(&[
                        "",
                        " {}",
                        " {external: true}",
                        " {name: other}",
                        " {external: {name: x}}"
                    ])
                );
            }
        }
    }
    let mut files = vec![("compose.yaml".to_owned(), main)];
    let mut given = vec!["compose.yaml".to_owned()];
    if rng.chance(30) {
        let mut over = String::from("services:\n");
        let name = names[rng.below(count)];
        let _ = writeln!(over, "  {name}:");
        let tag = rng.pick(&["", " !override", " !reset []"]);
        if tag == " !reset []" {
            let _ = writeln!(over, "    volumes: !reset []");
        } else {
            let _ = writeln!(over, "    volumes:{tag}");
            for _ in 0..=rng.below(3) {
                volume_entry(rng, &mut over, "      ");
            }
        }
        files.push(("compose.override.yaml".to_owned(), over));
        given.push("compose.override.yaml".to_owned());
    }
    if include {
        let mut inc = String::from("services:\n  inc:\n    image: alpine\n    volumes:\n");
        volume_entry(rng, &mut inc, "      ");
        if rng.chance(50) {
            inc.push_str("volumes:\n  data: {}\n");
        }
        files.push(("inc.yaml".to_owned(), inc));
    }
    let mut base = String::from("services:\n  b:\n    image: alpine\n    volumes:\n");
    volume_entry(rng, &mut base, "      ");
    files.push(("base.yaml".to_owned(), base));
    let env = format!(
        "SRC={}\nTGT={}\nEMPTY=\nNAME={}\n",
        rng.pick(&["./s", "data", "/abs", ""]),
        rng.pick(&["/t", "/t/", "rel", ""]),
        rng.pick(&["proj", "Proj", ""])
    );
    files.push((".env".to_owned(), env));
    Generated { files, main: given }
}
