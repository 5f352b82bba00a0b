//! `stowage volumes --format dot`: the same graph as `mermaid` in Graphviz's DOT language.

use std::fmt::Write;

use super::mermaid::{Fate, Node, SERVICE_COLOURS, Shape, graph};
use crate::workspace::inventory::Inventory;

/// A DOT double-quoted string's content: backslashes and quotes escaped, line breaks as `\n`.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("\r\n", "\\n")
        .replace(['\n', '\r'], "\\n")
}

fn node(out: &mut String, indent: &str, n: &Node) {
    let label = n
        .label
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("\\n");
    let (shape, style) = match n.shape {
        Shape::Service => ("box", "filled"),
        Shape::Volume => ("cylinder", "filled"),
        Shape::Tmpfs => ("box", "rounded,filled"),
        Shape::Host => ("folder", "filled"),
        Shape::Layer => ("box", "dashed,filled"),
    };
    let (fill, stroke) = n.fate.map_or(SERVICE_COLOURS, Fate::colours);
    let _ = writeln!(
        out,
        "{indent}{} [label=\"{label}\", shape=\"{shape}\", style=\"{style}\", fillcolor=\"{fill}\", color=\"{stroke}\"];",
        n.id
    );
}

pub(crate) fn render(inventory: &Inventory) -> String {
    let mut out = String::from("digraph stowage {\n");
    for failure in &inventory.failures {
        let _ = writeln!(out, "  // error: {}", failure.one_line());
    }
    out.push_str("  rankdir=LR;\n");
    out.push_str(
        "  graph [fontname=\"Helvetica\"];\n  node [fontname=\"Helvetica\", fontsize=11];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for g in graph(inventory) {
        let _ = writeln!(out, "  subgraph cluster_{} {{", g.id);
        let _ = writeln!(out, "    label=\"{}\";", escape(&g.label));
        for n in &g.nodes {
            node(&mut out, "    ", n);
        }
        out.push_str("  }\n");
        for e in &g.edges {
            let _ = writeln!(
                out,
                "  {} -> {} [label=\"{}\"];",
                e.from,
                e.to,
                escape(&e.label)
            );
        }
    }
    out.push_str("  subgraph cluster_legend {\n    label=\"what the data survives\";\n");
    for f in Fate::ALL {
        let (fill, stroke) = f.colours();
        let _ = writeln!(
            out,
            "    legend_{} [label=\"{}\", shape=\"box\", style=\"filled\", fillcolor=\"{fill}\", color=\"{stroke}\"];",
            f.class(),
            escape(f.legend())
        );
    }
    out.push_str("  }\n}\n");
    out
}
