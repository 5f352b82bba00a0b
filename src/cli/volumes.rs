//! `stowage volumes`: every mount of every project, in the format asked for.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::args::VolumesArgs;
use super::load::{Configs, Progress, request};
use super::{EXIT_FAILURE, exit_code, isolate_panics, main_file, or_report, print};
use crate::images::KnowledgeBase;
use crate::output;
use crate::workspace::inventory;

/// `stowage volumes`: exit 2 when something could not be read or rendered, 1 when compose
/// rejects a project.
pub(super) fn run(args: VolumesArgs) -> i32 {
    let Some(request) = or_report(request(args.load)) else {
        return EXIT_FAILURE;
    };
    let configs = match Configs::new(None, false) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let mut progress = Progress::loading();
    let mut inventory = inventory::collect(&request, KnowledgeBase::builtin());
    progress.finish();
    // Images a project's `.stowage.yaml` adds change what its services store.
    for (project, analysis) in &mut inventory.projects {
        let kb = configs
            .for_dir(&project.directory)
            .map_err(|e| e.to_string())
            .and_then(|config| config.knowledge_base());
        match kb {
            Ok(Cow::Borrowed(_)) => {}
            Ok(Cow::Owned(kb)) => *analysis = crate::analysis::analyse(project, &kb),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
        }
    }
    let text = render_inventory(&mut inventory, output::volumes::renderer(args.format));
    let written = print(&text);
    exit_code(inventory.has_failures() || !written, inventory.has_errors())
}

/// `render` of the inventory; a project whose rendering panics becomes a failure naming it
/// (exit 2), and the others are rendered without it.
fn render_inventory(
    inventory: &mut inventory::Inventory,
    render: fn(&inventory::Inventory) -> String,
) -> String {
    let attempt = |inventory: &inventory::Inventory| {
        catch_unwind(AssertUnwindSafe(|| {
            for (project, _) in &inventory.projects {
                crate::faults::panic_at(crate::faults::Stage::Render, project.paths());
            }
            render(inventory)
        }))
    };
    if let Ok(text) = attempt(inventory) {
        return text;
    }
    // Which projects fail on their own: they leave the output and become failures. Each is
    // tried alone in an inventory of its own.
    let mut items: Vec<_> = std::mem::take(&mut inventory.projects)
        .into_iter()
        .zip(std::mem::take(&mut inventory.options))
        .collect();
    let mut alone = inventory::Inventory {
        projects: Vec::with_capacity(1),
        options: Vec::with_capacity(1),
        failures: Vec::new(),
        cwd: inventory.cwd.clone(),
    };
    let failed = isolate_panics(&mut items, |items| {
        for (loaded, opts) in items.drain(..) {
            alone.projects.push(loaded);
            alone.options.push(opts);
        }
        let outcome = attempt(&alone).map(drop);
        items.extend(alone.projects.drain(..).zip(alone.options.drain(..)));
        outcome
    });
    for ((loaded, _), panic) in failed {
        inventory.failures.push(inventory::Failure {
            path: Some(main_file(&loaded.0)),
            message: crate::faults::internal_error("rendering this project", panic.as_ref()),
        });
    }
    for (loaded, opts) in items {
        inventory.projects.push(loaded);
        inventory.options.push(opts);
    }
    attempt(inventory).unwrap_or_else(|panic| {
        // Only together do they fail: none of them can be shown.
        let message = crate::faults::internal_error("rendering the inventory", panic.as_ref());
        for (project, _) in std::mem::take(&mut inventory.projects) {
            inventory.failures.push(inventory::Failure {
                path: Some(main_file(&project)),
                message: message.clone(),
            });
        }
        inventory.options.clear();
        attempt(inventory).unwrap_or_else(|_| {
            // Not even the failures can be rendered: they go to stderr.
            for f in &inventory.failures {
                output::eprint_failure(f.path.as_deref(), &f.message);
            }
            String::new()
        })
    })
}
