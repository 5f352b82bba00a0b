//! End-to-end on a real Docker engine: what each kind of mount really survives, held against
//! what `stowage volumes --format json` says (`survives`), for every lifecycle command.
//!
//! `scripts/engine.sh` installs and starts the engine, the `docker compose` plugin and the local
//! test images (`.ci/run` calls it). Where no engine answers, every case is reported as ignored
//! with the reason on one line; under `CI=true` a missing engine is a failure instead.
//!
//! Each case writes a file into the service's `/data` while it runs, applies one lifecycle
//! command, and looks for the file again. Every project, container and volume a case makes is
//! removed afterwards, by name: nothing else on the engine is touched.

use std::path::Path;
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};

#[path = "engine/migrate.rs"]
mod migrate;
use serde_json::Value as Json;
use stowage::compose::mounts::Survives;

/// The test images of scripts/engine.sh.
const BUSYBOX: &str = "stowage-test/busybox:1";
const WITH_VOLUME: &str = "stowage-test/volume:1";

/// One kind of mount on `/data`: the service's `volumes:`/`tmpfs:` lines and top-level lines.
struct MountCase {
    name: &'static str,
    image: &'static str,
    service: &'static str,
    top: &'static str,
    /// An external volume to create first (its name is made unique per case).
    external: bool,
}

const MOUNTS: &[MountCase] = &[
    MountCase {
        name: "anonymous-short",
        image: BUSYBOX,
        service: "    volumes:\n      - /data\n",
        top: "",
        external: false,
    },
    MountCase {
        name: "anonymous-long",
        image: BUSYBOX,
        service: "    volumes:\n      - type: volume\n        target: /data\n",
        top: "",
        external: false,
    },
    MountCase {
        name: "image-volume",
        image: WITH_VOLUME,
        service: "",
        top: "",
        external: false,
    },
    MountCase {
        name: "named",
        image: BUSYBOX,
        service: "    volumes:\n      - data:/data\n",
        top: "volumes:\n  data:\n",
        external: false,
    },
    MountCase {
        name: "external",
        image: BUSYBOX,
        service: "    volumes:\n      - ext:/data\n",
        top: "volumes:\n  ext:\n    external: true\n    name: EXTERNAL\n",
        external: true,
    },
    MountCase {
        name: "tmpfs-driver",
        image: BUSYBOX,
        service: "    volumes:\n      - data:/data\n",
        top: "volumes:\n  data:\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n",
        external: false,
    },
    MountCase {
        name: "bind-driver",
        image: BUSYBOX,
        service: "    volumes:\n      - data:/data\n",
        top: "volumes:\n  data:\n    driver: local\n    driver_opts:\n      type: none\n      o: bind\n      device: ./host\n",
        external: false,
    },
    MountCase {
        name: "bind",
        image: BUSYBOX,
        service: "    volumes:\n      - ./host:/data\n",
        top: "",
        external: false,
    },
    MountCase {
        name: "tmpfs",
        image: BUSYBOX,
        service: "    tmpfs:\n      - /data\n",
        top: "",
        external: false,
    },
    MountCase {
        name: "none",
        image: BUSYBOX,
        service: "",
        top: "",
        external: false,
    },
];

/// A lifecycle command, by its column in `survives`, as the compose commands that make it up.
const COMMANDS: &[(&str, &[&[&str]])] = &[
    ("restart", &[&["restart"]]),
    ("recreate", &[&["up", "-d", "--force-recreate"]]),
    ("down_up", &[&["down"], &["up", "-d"]]),
    ("down_volumes", &[&["down", "-v"], &["up", "-d"]]),
    ("up_renew", &[&["up", "-d", "-V"]]),
    ("rm_up", &[&["rm", "-sf"], &["up", "-d"]]),
    ("rm_volumes_up", &[&["rm", "-sfv"], &["up", "-d"]]),
];

fn run(cmd: &mut Command) -> Result<String, Failed> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Adds the volumes the containers of project `name` mount now to `volumes` (anonymous ones
/// have no project label: they are removed by name at the end).
fn note_volumes(name: &str, dir: &Path, volumes: &mut Vec<String>) -> Result<(), Failed> {
    let ids = run(Command::new("docker")
        .args(["compose", "-p", name, "ps", "-aq"])
        .current_dir(dir))?;
    for id in ids.split_whitespace() {
        let names = run(Command::new("docker").args([
            "inspect",
            "--format",
            "{{range .Mounts}}{{if .Name}}{{.Name}} {{end}}{{end}}",
            id,
        ]))?;
        for name in names.split_whitespace() {
            if !volumes.iter().any(|v| v == name) {
                volumes.push(name.to_owned());
            }
        }
    }
    Ok(())
}

/// Why no engine can be used here, or None when `docker compose` works against one.
fn engine_missing() -> Option<String> {
    let info = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    match info {
        Err(e) => return Some(format!("no `docker` command ({e})")),
        Ok(out) if !out.status.success() => return Some("no Docker engine answers".into()),
        Ok(_) => {}
    }
    for image in [BUSYBOX, WITH_VOLUME] {
        let ok = Command::new("docker")
            .args(["image", "inspect", image])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Some(format!("the test image {image} is missing"));
        }
    }
    let compose = Command::new("docker").args(["compose", "version"]).output();
    if !compose.is_ok_and(|o| o.status.success()) {
        return Some("no `docker compose` plugin".into());
    }
    None
}

/// A compose project in a temporary directory, taken down with its volumes when dropped.
struct Stack {
    dir: tempfile::TempDir,
    name: String,
    /// Engine volumes the stack used (anonymous ones have no project label), removed at the end.
    volumes: Vec<String>,
    external: Option<String>,
}

impl Stack {
    fn new(case: &MountCase, suffix: &str) -> Result<Stack, Failed> {
        // Unique per run: other checkouts may run these tests on the same engine.
        let name = format!("stowage-e2e-{}-{suffix}-{}", case.name, std::process::id());
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::create_dir(dir.path().join("host")).map_err(|e| e.to_string())?;
        let external = case.external.then(|| format!("{name}-ext"));
        let top = case
            .top
            .replace("EXTERNAL", external.as_deref().unwrap_or_default());
        let text = format!(
            "services:\n  s:\n    image: {}\n    init: true\n    command: [\"sleep\", \"1000000\"]\n{}{top}",
            case.image, case.service
        );
        std::fs::write(dir.path().join("compose.yaml"), text).map_err(|e| e.to_string())?;
        // What stowage knows of the test images, as a user would tell it.
        std::fs::write(
            dir.path().join(".stowage.yaml"),
            "images:\n  stowage-test-volume:\n    repos: [docker.io/stowage-test/volume]\n    data_paths: [/data]\n    volume_paths: [/data]\n",
        )
        .map_err(|e| e.to_string())?;
        if let Some(ext) = &external {
            run(Command::new("docker").args(["volume", "create", ext]))?;
        }
        Ok(Stack {
            dir,
            name,
            volumes: Vec::new(),
            external,
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn compose(&self, args: &[&str]) -> Result<String, Failed> {
        run(Command::new("docker")
            .args(["compose", "-p", &self.name])
            .args(args)
            .current_dir(self.path()))
    }

    /// Notes the volumes the service's container uses now.
    fn note_volumes(&mut self) -> Result<(), Failed> {
        note_volumes(&self.name, self.dir.path(), &mut self.volumes)
    }

    /// Whether the file written before is still there.
    fn has_marker(&self) -> Result<bool, Failed> {
        let out = Command::new("docker")
            .args([
                "compose",
                "-p",
                &self.name,
                "exec",
                "-T",
                "s",
                "cat",
                "/data/marker",
            ])
            .current_dir(self.path())
            .output()
            .map_err(|e| e.to_string())?;
        Ok(out.status.success() && out.stdout == b"kept\n")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.note_volumes();
        let _ = self.compose(&["down", "-v", "--remove-orphans", "-t", "0"]);
        let mut names = self.volumes.clone();
        names.extend(self.external.clone());
        for name in names {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", &name])
                .output();
        }
    }
}

/// What stowage says `/data` of service `s` survives; None when it lists no mount there.
fn stowage_says(dir: &Path) -> Result<Option<Json>, Failed> {
    let out = run(Command::new(env!("CARGO_BIN_EXE_stowage"))
        .args(["volumes", "--format", "json", "."])
        .current_dir(dir))?;
    let doc: Json = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    let mounts = &doc["projects"][0]["services"][0]["mounts"];
    Ok(mounts
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["target"] == "/data"))
        .map(|m| m["survives"].clone()))
}

fn survival_case(
    case: &'static MountCase,
    column: &'static str,
    steps: &[&[&str]],
) -> Result<(), Failed> {
    let mut stack = Stack::new(case, column)?;
    stack.compose(&["up", "-d"])?;
    stack.note_volumes()?;
    stack.compose(&[
        "exec",
        "-T",
        "s",
        "sh",
        "-c",
        "mkdir -p /data && echo kept >/data/marker",
    ])?;
    for step in steps {
        stack.compose(step)?;
        stack.note_volumes()?;
    }
    let survived = stack.has_marker()?;
    // Nothing mounted: the data is in the container's own layer.
    let survives = stowage_says(stack.path())?.unwrap_or_else(|| {
        serde_json::to_value(Survives::CONTAINER_LAYER).expect("survives as JSON")
    });
    let claimed = survives[column]
        .as_bool()
        .ok_or_else(|| format!("no `{column}` in {survives}"))?;
    if survived != claimed {
        return Err(format!(
            "{}: after `{column}` the engine {} the data, stowage says it {}",
            case.name,
            if survived { "kept" } else { "lost" },
            if claimed { "survives" } else { "is lost" }
        )
        .into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let missing = engine_missing();
    if let Some(reason) = &missing {
        if std::env::var_os("CI").is_some_and(|v| v == "true") {
            eprintln!("engine: {reason}; CI must run these tests (scripts/engine.sh)");
            std::process::exit(1);
        }
        println!(
            "engine: {reason}: every end-to-end case is ignored (run scripts/engine.sh as root)"
        );
    }
    let mut trials = Vec::new();
    for case in MOUNTS {
        for &(column, steps) in COMMANDS {
            trials.push(
                Trial::test(format!("survives::{}::{column}", case.name), move || {
                    survival_case(case, column, steps)
                })
                .with_ignored_flag(missing.is_some()),
            );
        }
    }
    trials.extend(migrate::trials(missing.is_some()));
    libtest_mimic::run(&args, trials).exit();
}
