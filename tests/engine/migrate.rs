//! Migration end to end: a stack's data written into old-style mounts, the files rewritten
//! (`stowage migrate --write` or `check --fix --unsafe-fixes`), the plan they leave behind run,
//! and the data compared entry by entry (name, type, mode, owner, time, size, checksum, link
//! target) after the plan, after `up` and after `down` + `up`. Cases that must be refused are
//! run too: the plan must stop before it changes anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Failed, Trial};

use super::{BUSYBOX, WITH_VOLUME, run};

/// Data that has tripped copies up: nested and empty directories, hidden files, a link, a 4 MiB
/// file, names with a space and a newline, another owner, mode 600, old times.
const SEED: &str = r#"set -e
cd /data
mkdir -p a/b/c empty .hidden
echo deep > a/b/c/deep.txt
echo hidden > .hidden/.dot
ln -s a/b/c/deep.txt link
dd if=/dev/urandom of=big bs=1024 count=4096 2>/dev/null
echo space > 'with space'
echo newline > 'new
line'
echo owned > owned && chown 1234:1234 owned
echo private > private && chmod 600 private
for f in a/b/c/deep.txt a/b/c a/b a empty .hidden/.dot .hidden big 'with space' 'new
line' owned private; do touch -d '2001-02-03 04:05:06' "$f"; done
touch -h -d '2001-02-03 04:05:06' link
touch -d '2002-03-04 05:06:07' .
"#;

/// Every entry under /data as a NUL-terminated record; the records are sorted by the test.
const LIST: &str = r#"cd /data && find . -print0 | xargs -0 -r sh -c 'for f; do
  if [ -L "$f" ]; then x=$(readlink "$f")
  elif [ -f "$f" ]; then x="$(stat -c %s "$f") $(sha256sum < "$f")"
  else x=-; fi
  printf "%s|%s|%s\0" "$f" "$(stat -c "%F %a %u:%g %Y" "$f")" "$x"
done' sh"#;

/// The `.stowage.yaml` that tells stowage what the test image with `VOLUME /data` stores.
const KNOWLEDGE: &str = "images:\n  stowage-test-volume:\n    repos: [docker.io/stowage-test/volume]\n    data_paths: [/data]\n    volume_paths: [/data]\n";

/// A compose project in a temporary directory; every container and volume it made (including
/// the old anonymous volumes the migration leaves) is removed when dropped.
struct Stack {
    dir: tempfile::TempDir,
    name: String,
    volumes: Vec<String>,
}

impl Stack {
    fn new(case: &str, compose: &str) -> Result<Stack, Failed> {
        Stack::with_knowledge(case, compose, KNOWLEDGE)
    }

    /// A stack whose `.stowage.yaml` is `knowledge`.
    fn with_knowledge(case: &str, compose: &str, knowledge: &str) -> Result<Stack, Failed> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("compose.yaml"), compose).map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join(".stowage.yaml"), knowledge).map_err(|e| e.to_string())?;
        Ok(Stack {
            dir,
            // Unique per run: other checkouts may run these tests on the same engine.
            name: format!("stowage-mig-{case}-{}", std::process::id()),
            volumes: Vec::new(),
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

    /// Notes the volumes of the project's containers, to remove them at the end.
    fn note_volumes(&mut self) -> Result<(), Failed> {
        super::note_volumes(&self.name, self.dir.path(), &mut self.volumes)
    }

    /// The volume mounted at /data in the container of `service`.
    fn volume_of(&self, service: &str) -> Result<String, Failed> {
        let id = self.compose(&["ps", "-aq", service])?;
        Ok(run(Command::new("docker").args([
            "inspect",
            "--format",
            "{{range .Mounts}}{{if eq .Destination \"/data\"}}{{.Name}}{{end}}{{end}}",
            id.trim(),
        ]))?
        .trim()
        .to_owned())
    }

    /// `up -d`, which must take the new volumes as compose's own (no warning about them).
    fn up(&mut self) -> Result<(), Failed> {
        let out = Command::new("docker")
            .args(["compose", "-p", &self.name, "up", "-d", "-t", "0"])
            .current_dir(self.path())
            .output()
            .map_err(|e| e.to_string())?;
        let said = text(&out);
        if !out.status.success() || said.contains("not created by Docker Compose") {
            return Err(format!("up failed or warned:\n{said}").into());
        }
        self.note_volumes()
    }

    fn seed(&self, service: &str, extra: &str) -> Result<(), Failed> {
        self.compose(&["exec", "-T", service, "sh", "-c", &format!("{extra}{SEED}")])?;
        Ok(())
    }

    /// The listing of /data in the running container of `service`, sorted.
    fn listing(&self, service: &str) -> Result<Vec<String>, Failed> {
        let out = self.compose(&["exec", "-T", service, "sh", "-c", LIST])?;
        let mut records: Vec<String> = out
            .split('\0')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect();
        records.sort();
        Ok(records)
    }

    fn stowage(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_stowage"))
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("stowage runs")
    }

    /// Runs a plan script with the local helper image (no registry can be reached).
    fn plan(&self, script: &Path, args: &[&str]) -> Output {
        Command::new("sh")
            .arg(script)
            .args(args)
            .env("STOWAGE_HELPER_IMAGE", BUSYBOX)
            .env_remove("COMPOSE_PROJECT_NAME")
            .current_dir(self.path())
            .output()
            .expect("sh runs")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.note_volumes();
        let _ = self.compose(&["down", "-v", "--remove-orphans", "-t", "0"]);
        for name in &self.volumes {
            let _ = Command::new("docker")
                .args(["volume", "rm", "-f", name])
                .output();
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `stowage` with `args` (`ok`: it must exit 0), which must write a plan beside the
/// compose file and name it; returns its path.
fn rewrite(stack: &Stack, args: &[&str], ok: bool) -> Result<PathBuf, Failed> {
    let out = stack.stowage(args);
    if ok && !out.status.success() {
        return Err(format!("stowage {args:?} failed:\n{}", text(&out)).into());
    }
    let said = text(&out);
    let plan = std::fs::read_dir(stack.path())
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("stowage-plan-"))
        });
    match plan {
        Some(plan) if said.contains(&plan.display().to_string()) => Ok(plan),
        _ => Err(format!("stowage {args:?} wrote no plan it named:\n{said}").into()),
    }
}

fn expect_ok(out: &Output, what: &str) -> Result<(), Failed> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed:\n{}", text(out)).into())
    }
}

/// The listing of every service in `services` equals `want`, now, after `up` and after
/// `down` + `up`.
fn holds(stack: &mut Stack, services: &[&str], want: &[String]) -> Result<(), Failed> {
    // SEED's 13 entries and the root.
    if want.len() < 14 {
        return Err(format!("the seeded data is missing: {want:?}").into());
    }
    for step in ["after the plan", "after up", "after down + up"] {
        match step {
            "after up" => stack.up()?,
            "after down + up" => {
                stack.note_volumes()?;
                stack.compose(&["down", "-t", "0"])?;
                stack.up()?;
            }
            _ => {}
        }
        for service in services {
            let got = stack.listing(service)?;
            if got != want {
                let lost: Vec<&String> = want.iter().filter(|r| !got.contains(r)).collect();
                let new: Vec<&String> = got.iter().filter(|r| !want.contains(r)).collect();
                return Err(format!(
                    "{step}, /data of {service} differs: lost or changed {lost:?}, new {new:?}"
                )
                .into());
            }
        }
    }
    Ok(())
}

fn service(image: &str, extra: &str) -> String {
    format!("    image: {image}\n    init: true\n    command: [\"sleep\", \"1000000\"]\n{extra}")
}

/// An anonymous volume: `migrate --write` alone leaves a plan beside the file, which moves
/// exactly the data.
fn anonymous_write_leaves_a_plan() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  s:\n{}",
        service(BUSYBOX, "    volumes:\n      - /data\n")
    );
    let mut stack = Stack::new("anon", &compose)?;
    stack.up()?;
    stack.seed("s", "")?;
    let want = stack.listing("s")?;
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    holds(&mut stack, &["s"], &want)
}

/// An image `VOLUME` over seeded content: a seeded file the user deleted stays deleted (the new
/// volume is not seeded by the image, nothing is merged).
fn image_volume_nothing_seeded() -> Result<(), Failed> {
    let compose = format!("services:\n  s:\n{}", service(WITH_VOLUME, ""));
    let mut stack = Stack::new("image", &compose)?;
    stack.up()?;
    stack.seed("s", "rm /data/seed.txt\n")?;
    let want = stack.listing("s")?;
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    holds(&mut stack, &["s"], &want)
}

/// `check --fix --unsafe-fixes` changes where data lives too: it leaves a plan.
fn unsafe_fixes_leave_a_plan() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  s:\n{}",
        service(BUSYBOX, "    volumes:\n      - /data\n")
    );
    let mut stack = Stack::new("unsafe", &compose)?;
    stack.up()?;
    stack.seed("s", "")?;
    let want = stack.listing("s")?;
    // `check` exits 1 when findings are left; the plan is what matters.
    let plan = rewrite(&stack, &["check", "--fix", "--unsafe-fixes", "."], false)?;
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    holds(&mut stack, &["s"], &want)
}

/// Run in the wrong order (the plan of a dry run, before the files were rewritten), the plan
/// refuses before it changes anything: no new volume, the service still running on its old
/// data. Run after `migrate --write`, the plan it leaves moves exactly the data, and `up` takes
/// the new volume as compose's own.
fn plan_before_rewrite_refuses() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  s:\n{}",
        service(BUSYBOX, "    volumes:\n      - /data\n")
    );
    let mut stack = Stack::new("order", &compose)?;
    stack.up()?;
    stack.seed("s", "")?;
    let want = stack.listing("s")?;
    let early = stack.path().join("early.sh");
    let dry = stack.stowage(&["migrate", "--script", "early.sh", "."]);
    if !early.is_file() {
        return Err(format!("the dry run wrote no plan:\n{}", text(&dry)).into());
    }
    let out = stack.plan(&early, &["-p", &stack.name]);
    let said = text(&out);
    if out.status.success() || !said.contains("do not declare the volume s-data") {
        return Err(format!("the plan run before the rewrite did not refuse:\n{said}").into());
    }
    let new = format!("{}_s-data", stack.name);
    let exists = Command::new("docker")
        .args(["volume", "inspect", &new])
        .output()
        .map_err(|e| e.to_string())?;
    if exists.status.success() {
        return Err(format!("the refused plan created the volume {new}").into());
    }
    if stack
        .compose(&["ps", "--services", "--status", "running"])?
        .trim()
        != "s"
    {
        return Err("the refused plan left the service stopped".into());
    }
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    holds(&mut stack, &["s"], &want)
}

/// Run too late (`up` recreated the container on the new volume), the plan refuses; given the
/// old volume, it moves exactly the data.
fn recreated_refuses_then_takes_the_old_volume() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  s:\n{}",
        service(BUSYBOX, "    volumes:\n      - /data\n")
    );
    let mut stack = Stack::new("late", &compose)?;
    stack.up()?;
    stack.seed("s", "")?;
    let want = stack.listing("s")?;
    let old = stack.volume_of("s")?;
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    stack.up()?;
    let out = stack.plan(&plan, &["-p", &stack.name]);
    if out.status.success() || !text(&out).contains("already mounts the new volume") {
        return Err(format!(
            "the plan did not refuse a recreated container:\n{}",
            text(&out)
        )
        .into());
    }
    let from = format!("s:/data={old}");
    expect_ok(
        &stack.plan(&plan, &["-p", &stack.name, "--from", &from]),
        "the plan with --from",
    )?;
    stack.note_volumes()?;
    holds(&mut stack, &["s"], &want)
}

/// Under a project name the stack does not run under, the plan refuses and creates nothing.
fn another_project_name_is_refused() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  s:\n{}",
        service(BUSYBOX, "    volumes:\n      - /data\n")
    );
    let mut stack = Stack::new("name", &compose)?;
    stack.up()?;
    stack.seed("s", "")?;
    let want = stack.listing("s")?;
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    let stray = format!("{}-stray", stack.name);
    let out = stack.plan(&plan, &["-p", &stray]);
    if out.status.success() || !text(&out).contains("no container of project") {
        return Err(format!(
            "the plan did not refuse another project name:\n{}",
            text(&out)
        )
        .into());
    }
    let label = format!("label=com.docker.compose.project={stray}");
    let made = run(Command::new("docker").args(["ps", "-aq", "--filter", &label]))?
        + &run(Command::new("docker").args(["volume", "ls", "-q", "--filter", &label]))?;
    if !made.trim().is_empty() {
        return Err(format!("the refused plan created {made}").into());
    }
    // The data is still where it was, and the right name moves it.
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    holds(&mut stack, &["s"], &want)
}

/// A service that reaches the data through `volumes_from` is stopped during the copy and sees
/// the new volume afterwards.
fn volumes_from_follows() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  s:\n{}  r:\n{}",
        service(BUSYBOX, "    volumes:\n      - /data\n"),
        service(BUSYBOX, "    volumes_from:\n      - s\n")
    );
    let mut stack = Stack::new("from", &compose)?;
    stack.up()?;
    stack.seed("s", "")?;
    let want = stack.listing("r")?;
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    let (s, r) = (stack.volume_of("s")?, stack.volume_of("r")?);
    if s != r {
        return Err(format!("after the plan s mounts {s}, r mounts {r}").into());
    }
    holds(&mut stack, &["s", "r"], &want)
}

/// Two services binding one host directory (`--binds volume`): they share one new volume after
/// the plan, which copied the directory once.
fn shared_bind_becomes_one_volume() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  a:\n{}  b:\n{}",
        service(BUSYBOX, "    volumes:\n      - ./host:/data\n"),
        service(BUSYBOX, "    volumes:\n      - ./host:/data\n")
    );
    let mut stack = Stack::new("shared", &compose)?;
    stack.up()?;
    stack.seed("a", "")?;
    let want = stack.listing("b")?;
    let plan = rewrite(
        &stack,
        &["migrate", "--write", "--binds", "volume", "."],
        true,
    )?;
    let out = stack.plan(&plan, &["-p", &stack.name]);
    expect_ok(&out, "the plan")?;
    let copies = text(&out).matches("(verified)").count();
    if copies != 1 {
        return Err(format!("the plan copied {copies} times:\n{}", text(&out)).into());
    }
    stack.note_volumes()?;
    let (a, b) = (stack.volume_of("a")?, stack.volume_of("b")?);
    if a != b || a.is_empty() {
        return Err(format!("after the plan a mounts `{a}`, b mounts `{b}`").into());
    }
    holds(&mut stack, &["a", "b"], &want)?;
    // They still share: what one writes the other sees.
    stack.compose(&["exec", "-T", "a", "sh", "-c", "echo new > /data/from-a"])?;
    stack.compose(&["exec", "-T", "b", "cat", "/data/from-a"])?;
    Ok(())
}

/// `--binds keep-path` writes the directory as the file did (relative), which compose resolves
/// against the project directory: the data stays in place, and a copy of the project elsewhere
/// (another checkout with its data directory) runs on its own directory.
fn keep_path_stays_relative() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  s:\n{}",
        service(BUSYBOX, "    volumes:\n      - ./host:/data\n")
    );
    let mut stack = Stack::new("keep", &compose)?;
    stack.up()?;
    stack.seed("s", "")?;
    let want = stack.listing("s")?;
    let plan = rewrite(
        &stack,
        &["migrate", "--write", "--binds", "keep-path", "."],
        true,
    )?;
    let written =
        std::fs::read_to_string(stack.path().join("compose.yaml")).map_err(|e| e.to_string())?;
    if !written.contains("device: ./host") {
        return Err(format!("keep-path did not write a relative device:\n{written}").into());
    }
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    holds(&mut stack, &["s"], &want)?;
    // Another checkout: the files and its own data directory, under another project name.
    let mut other = Stack::new("keep-other", &written)?;
    run(Command::new("cp")
        .args(["-a", "host"])
        .arg(other.path())
        .current_dir(stack.path()))?;
    other.up()?;
    if other.listing("s")? != want {
        return Err("the copied checkout does not see its own data directory".into());
    }
    stack.compose(&["exec", "-T", "s", "sh", "-c", "echo mine > /data/only-here"])?;
    if other.listing("s")?.iter().any(|r| r.contains("only-here")) {
        return Err("the copied checkout mounts the first checkout's directory".into());
    }
    Ok(())
}

/// Tells stowage that the plain test image keeps its data in /data (nothing mounted there: the
/// data is in the container's own layer).
const LAYER_KNOWLEDGE: &str = "images:\n  stowage-test-busybox:\n    repos: [docker.io/stowage-test/busybox]\n    data_paths: [/data]\n";

/// Data in the container's own layer (`ephemeral-data`): the plan copies it out of the existing
/// container into the new volume before anything recreates the container.
fn layer_data_copied_out_first() -> Result<(), Failed> {
    let compose = format!("services:\n  s:\n{}", service(BUSYBOX, ""));
    let mut stack = Stack::with_knowledge("layer", &compose, LAYER_KNOWLEDGE)?;
    stack.up()?;
    stack.seed("s", "mkdir -p /data\n")?;
    let want = stack.listing("s")?;
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    let out = stack.plan(&plan, &["-p", &stack.name]);
    expect_ok(&out, "the plan")?;
    if let Some(kept) = text(&out)
        .lines()
        .find_map(|l| l.strip_prefix("kept the old container's files: image "))
    {
        let _ = Command::new("docker").args(["image", "rm", kept]).output();
    }
    stack.note_volumes()?;
    if stack.volume_of("s")?.is_empty() {
        return Err("after the plan nothing is mounted at /data".into());
    }
    holds(&mut stack, &["s"], &want)
}

/// Run after `up` recreated the container, the data of its own layer is gone: the plan says so
/// and changes nothing.
fn layer_data_too_late_refuses() -> Result<(), Failed> {
    let compose = format!("services:\n  s:\n{}", service(BUSYBOX, ""));
    let mut stack = Stack::with_knowledge("layer-late", &compose, LAYER_KNOWLEDGE)?;
    stack.up()?;
    stack.seed("s", "mkdir -p /data\n")?;
    let plan = rewrite(&stack, &["migrate", "--write", "."], true)?;
    stack.up()?;
    let out = stack.plan(&plan, &["-p", &stack.name]);
    if out.status.success() || !text(&out).contains("went with the old container") {
        return Err(format!(
            "the plan did not refuse a recreated container:\n{}",
            text(&out)
        )
        .into());
    }
    Ok(())
}

/// `--service a` converts a's mount only: b keeps its anonymous volume, untouched, and the
/// plan moves a's data.
fn only_the_chosen_service() -> Result<(), Failed> {
    let compose = format!(
        "services:\n  a:\n{}  b:\n{}",
        service(BUSYBOX, "    volumes:\n      - /data\n"),
        service(BUSYBOX, "    volumes:\n      - /data\n")
    );
    let mut stack = Stack::new("chosen", &compose)?;
    stack.up()?;
    stack.seed("a", "")?;
    stack.seed("b", "")?;
    let (want_a, want_b) = (stack.listing("a")?, stack.listing("b")?);
    let old_b = stack.volume_of("b")?;
    let plan = rewrite(&stack, &["migrate", "--write", "--service", "a", "."], true)?;
    let written =
        std::fs::read_to_string(stack.path().join("compose.yaml")).map_err(|e| e.to_string())?;
    if !written.contains("  b:\n") || written.matches("      - /data\n").count() != 1 {
        return Err(format!("--service a changed b:\n{written}").into());
    }
    expect_ok(&stack.plan(&plan, &["-p", &stack.name]), "the plan")?;
    stack.note_volumes()?;
    if stack.volume_of("b")? != old_b || stack.listing("b")? != want_b {
        return Err("the plan touched b".into());
    }
    holds(&mut stack, &["a"], &want_a)
}

type Case = fn() -> Result<(), Failed>;

const CASES: &[(&str, Case)] = &[
    (
        "anonymous_write_leaves_a_plan",
        anonymous_write_leaves_a_plan,
    ),
    ("image_volume_nothing_seeded", image_volume_nothing_seeded),
    ("unsafe_fixes_leave_a_plan", unsafe_fixes_leave_a_plan),
    (
        "recreated_refuses_then_takes_the_old_volume",
        recreated_refuses_then_takes_the_old_volume,
    ),
    (
        "another_project_name_is_refused",
        another_project_name_is_refused,
    ),
    ("volumes_from_follows", volumes_from_follows),
    (
        "shared_bind_becomes_one_volume",
        shared_bind_becomes_one_volume,
    ),
    ("keep_path_stays_relative", keep_path_stays_relative),
    ("layer_data_copied_out_first", layer_data_copied_out_first),
    ("layer_data_too_late_refuses", layer_data_too_late_refuses),
    ("only_the_chosen_service", only_the_chosen_service),
    ("plan_before_rewrite_refuses", plan_before_rewrite_refuses),
];

/// The migration cases, ignored when no engine can be had.
pub fn trials(ignored: bool) -> Vec<Trial> {
    CASES
        .iter()
        .map(|&(name, case)| {
            Trial::test(format!("migrate::{name}"), case).with_ignored_flag(ignored)
        })
        .collect()
}
