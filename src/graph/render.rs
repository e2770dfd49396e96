//! Renders the dependency graph as Graphviz DOT or Mermaid. A renderer decides
//! nothing: it prints the graph it is given.

use std::fmt::Write as _;

use petgraph::visit::EdgeRef;

use super::Graph;
use crate::config::Config;

pub fn dot(config: &Config, g: &Graph) -> String {
    let mut out = String::from(
        "digraph {\n  compound = \"true\"\n  newrank = \"true\"\n  subgraph \"root\" {\n",
    );
    let mut nodes: Vec<String> = g
        .inner
        .node_indices()
        .map(|n| g.display(config, n))
        .collect();
    nodes.sort();
    for n in &nodes {
        let _ = writeln!(
            out,
            "    \"[root] {n}\" [label = \"{n}\", shape = \"{}\"]",
            shape(n)
        );
    }
    let mut edges: Vec<(String, String)> = g
        .inner
        .edge_references()
        .map(|e| (g.display(config, e.target()), g.display(config, e.source())))
        .collect();
    edges.sort();
    edges.dedup();
    for (from, to) in edges {
        let _ = writeln!(
            out,
            "    \"[root] {}\" -> \"[root] {}\"",
            escape(&from),
            escape(&to)
        );
    }
    out.push_str("  }\n}\n");
    out
}

fn shape(name: &str) -> &'static str {
    if name.contains("provider[") {
        "diamond"
    } else if name.contains("var.") || name.contains("local.") || name.contains("output.") {
        "note"
    } else {
        "box"
    }
}

fn escape(s: &str) -> String {
    s.replace('"', "\\\"")
}

pub fn mermaid(config: &Config, g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut nodes: Vec<(usize, String)> = g
        .inner
        .node_indices()
        .map(|n| (n.index(), g.display(config, n)))
        .collect();
    nodes.sort_by(|a, b| a.1.cmp(&b.1));
    for (i, name) in &nodes {
        let label = name.replace('"', "#quot;");
        let _ = writeln!(out, "  n{i}[\"{label}\"]");
    }
    let mut edges: Vec<(usize, usize)> = g
        .inner
        .edge_references()
        .map(|e| (e.target().index(), e.source().index()))
        .collect();
    edges.sort();
    edges.dedup();
    for (from, to) in edges {
        let _ = writeln!(out, "  n{from} --> n{to}");
    }
    out
}
