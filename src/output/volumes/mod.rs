//! `stowage volumes`: the inventory in each format (a file each, one `render` function), chosen
//! in one place, [`renderer`].

pub(crate) mod dot;
pub(crate) mod json;
pub(crate) mod mermaid;
pub(crate) mod table;

use crate::workspace::inventory::Inventory;

/// `volumes --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
    /// Mermaid flowchart: services → volumes → host paths, coloured by what survives.
    Mermaid,
    /// Graphviz DOT: the same graph.
    Dot,
}

/// The whole output of `volumes` in `format`.
pub(crate) fn renderer(format: Format) -> fn(&Inventory) -> String {
    match format {
        Format::Table => table::render,
        Format::Json => json::render,
        Format::Mermaid => mermaid::render,
        Format::Dot => dot::render,
    }
}
