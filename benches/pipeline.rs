//! Benchmarks of each stage of the pipeline (parse, load, analyse, check, fix) on small, medium
//! and large inputs: a few real files of the shared corpus (when it is next to the repository)
//! and synthetic projects of 10, 100 and 1000 services.
//!
//! `cargo bench --bench pipeline`; `cargo bench --bench pipeline -- parse` runs one stage. The
//! whole-process comparison with other tools is `scripts/bench.sh`.

use std::path::{Path, PathBuf};

use stowage::analysis::{self, ServiceAnalysis};
use stowage::compose::loader::{self, LoadOptions};
use stowage::compose::model::Project;
use stowage::images::KnowledgeBase;
use stowage::lint::config::Config;
use stowage::lint::{self, RuleSettings};

fn main() {
    divan::main();
}

/// Real files of the shared corpus (relative to it), small to large.
const CORPUS_FILES: &[&str] = &[
    "docker+awesome-compose/angular/compose.yaml",
    "docker+awesome-compose/nextcloud-postgres/compose.yaml",
    "coollabsio+coolify/templates/compose/posthog.yaml",
];

/// Synthetic project sizes, in services.
const SIZES: &[usize] = &[10, 100, 1000];

/// A compose file of `services` services with the mounts stowage looks at: named volumes (some
/// declared in an anchor), binds, anonymous volumes, tmpfs, images from the knowledge base with
/// data paths, relocating environment variables and variables to interpolate.
pub fn synthetic_compose(services: usize) -> String {
    let images = [
        "postgres:16",
        "redis:7-alpine",
        "mysql:8.4",
        "nginx:1.27",
        "ghcr.io/example/app:1.2",
        "docker.elastic.co/elasticsearch/elasticsearch:8.15.0",
        "mongo:7",
    ];
    let mut out = String::from(
        "name: synthetic\nx-logging: &logging\n  driver: json-file\n  options:\n    max-size: 10m\nservices:\n",
    );
    for i in 0..services {
        let image = images[i % images.len()];
        out.push_str(&format!(
            "  svc{i}:\n    image: {image}\n    logging: *logging\n"
        ));
        out.push_str(&format!(
            "    environment:\n      APP_ID: \"{i}\"\n      PGDATA: /var/lib/postgresql/data/pg{i}\n      TZ: ${{TZ:-UTC}}\n"
        ));
        out.push_str("    volumes:\n");
        match i % 4 {
            0 => out.push_str(&format!("      - data{i}:/var/lib/postgresql/data\n")),
            1 => out.push_str(&format!("      - ./data/{i}:/data\n")),
            2 => out.push_str("      - /var/lib/mysql\n"),
            _ => out.push_str(&format!(
                "      - type: volume\n        source: data{i}\n        target: /srv/data\n        read_only: false\n"
            )),
        }
        out.push_str(&format!("      - ./conf/{i}.conf:/etc/app/app.conf:ro\n"));
        if i % 3 == 0 {
            out.push_str("    tmpfs:\n      - /tmp\n");
        }
        if i > 0 && i % 5 == 0 {
            out.push_str(&format!("    depends_on:\n      - svc{}\n", i - 1));
        }
    }
    out.push_str("volumes:\n");
    for i in (0..services).filter(|i| i % 4 == 0 || i % 4 == 3) {
        out.push_str(&format!("  data{i}:\n"));
    }
    out
}

/// One input on disk: a directory holding `compose.yaml`, kept for the whole run.
struct Input {
    _dir: Option<tempfile::TempDir>,
    path: PathBuf,
    text: String,
}

impl Input {
    fn synthetic(services: usize) -> Input {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("compose.yaml");
        let text = synthetic_compose(services);
        std::fs::write(&path, &text).expect("write the synthetic project");
        Input {
            _dir: Some(dir),
            path,
            text,
        }
    }

    fn corpus(relative: &str) -> Option<Input> {
        let root = std::env::var_os("STOWAGE_CORPUS").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/files"),
            PathBuf::from,
        );
        let path = root.join(relative);
        let text = std::fs::read_to_string(&path).ok()?;
        Some(Input {
            _dir: None,
            path,
            text,
        })
    }

    fn options(&self) -> LoadOptions {
        LoadOptions {
            files: vec![self.path.clone()],
            cwd: self
                .path
                .parent()
                .expect("a file has a directory")
                .to_path_buf(),
            ..LoadOptions::default()
        }
    }
}

/// A corpus file by index (the demo fixture when the corpus is not there).
fn corpus_input(index: usize) -> Input {
    Input::corpus(CORPUS_FILES[index]).unwrap_or_else(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/compose.yaml");
        let text = std::fs::read_to_string(&path).expect("the demo fixture");
        Input {
            _dir: None,
            path,
            text,
        }
    })
}

fn loaded(input: &Input) -> (Project, Vec<ServiceAnalysis>) {
    let project = loader::load(&input.options());
    let analysis = analysis::analyse(&project, KnowledgeBase::builtin());
    (project, analysis)
}

fn lint(project: &Project, analysis: &[ServiceAnalysis]) -> Vec<stowage::finding::Finding> {
    lint::run(
        project,
        analysis,
        KnowledgeBase::builtin(),
        &RuleSettings::default(),
        &Config::default(),
    )
}

/// Bytes of the input, so divan reports throughput.
fn bytes(input: &Input) -> divan::counter::BytesCount {
    divan::counter::BytesCount::new(input.text.len())
}

mod parse {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn synthetic(bencher: divan::Bencher, services: usize) {
        let input = Input::synthetic(services);
        bencher
            .counter(bytes(&input))
            .bench(|| stowage::yaml::syntax::parse(divan::black_box(&input.text)));
    }

    #[divan::bench(args = [0, 1, 2])]
    fn corpus(bencher: divan::Bencher, file: usize) {
        let input = corpus_input(file);
        bencher
            .counter(bytes(&input))
            .bench(|| stowage::yaml::syntax::parse(divan::black_box(&input.text)));
    }
}

mod load {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn synthetic(bencher: divan::Bencher, services: usize) {
        let input = Input::synthetic(services);
        let opts = input.options();
        bencher
            .counter(bytes(&input))
            .bench(|| loader::load(divan::black_box(&opts)));
    }

    #[divan::bench(args = [0, 1, 2])]
    fn corpus(bencher: divan::Bencher, file: usize) {
        let input = corpus_input(file);
        let opts = input.options();
        bencher
            .counter(bytes(&input))
            .bench(|| loader::load(divan::black_box(&opts)));
    }
}

mod analyse {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn synthetic(bencher: divan::Bencher, services: usize) {
        let input = Input::synthetic(services);
        let project = loader::load(&input.options());
        let kb = KnowledgeBase::builtin();
        bencher
            .counter(bytes(&input))
            .bench(|| analysis::analyse(divan::black_box(&project), kb));
    }

    #[divan::bench(args = [0, 1, 2])]
    fn corpus(bencher: divan::Bencher, file: usize) {
        let input = corpus_input(file);
        let project = loader::load(&input.options());
        let kb = KnowledgeBase::builtin();
        bencher
            .counter(bytes(&input))
            .bench(|| analysis::analyse(divan::black_box(&project), kb));
    }
}

mod check_rules {
    use super::*;

    #[divan::bench(args = SIZES)]
    fn synthetic(bencher: divan::Bencher, services: usize) {
        let input = Input::synthetic(services);
        let (project, analysis) = loaded(&input);
        bencher
            .counter(bytes(&input))
            .bench(|| lint(divan::black_box(&project), &analysis));
    }

    #[divan::bench(args = [0, 1, 2])]
    fn corpus(bencher: divan::Bencher, file: usize) {
        let input = corpus_input(file);
        let (project, analysis) = loaded(&input);
        bencher
            .counter(bytes(&input))
            .bench(|| lint(divan::black_box(&project), &analysis));
    }
}

mod fix {
    use super::*;

    fn fix_all(opts: &LoadOptions) -> stowage::fix::Outcome {
        let lint = |p: &Project| {
            let analysis = analysis::analyse(p, KnowledgeBase::builtin());
            lint(p, &analysis)
        };
        stowage::fix::fix_project(opts, &lint, true).expect("the input can be fixed")
    }

    /// The whole fix loop (load, lint, edit, reload until nothing changes); nothing is written.
    #[divan::bench(args = SIZES, sample_count = 20)]
    fn synthetic(bencher: divan::Bencher, services: usize) {
        let input = Input::synthetic(services);
        let opts = input.options();
        bencher
            .counter(bytes(&input))
            .bench(|| fix_all(divan::black_box(&opts)));
    }

    #[divan::bench(args = [0, 1, 2], sample_count = 20)]
    fn corpus(bencher: divan::Bencher, file: usize) {
        let input = corpus_input(file);
        let opts = input.options();
        bencher
            .counter(bytes(&input))
            .bench(|| fix_all(divan::black_box(&opts)));
    }
}

/// The knowledge base: the first lookup deserialises only the entry it selects.
#[divan::bench]
fn knowledge_base_first_lookup() -> Option<stowage::images::ImageFacts> {
    let kb = KnowledgeBase::builtin();
    kb.lookup_str(divan::black_box("postgres:16"), &|_| None)
}
