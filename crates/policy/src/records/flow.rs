//! The data-flow diagram: who the data is about → what is collected → why → who receives it.
//! One graph is built, then written as Graphviz DOT or as a Mermaid flowchart.

use std::fmt::Write;

use crate::labels;
use crate::model::*;
use crate::text::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cluster {
    Subjects,
    Categories,
    Purposes,
    Internal,
    Partners,
    Authorities,
}

impl Cluster {
    const ALL: [Cluster; 6] = [
        Cluster::Subjects,
        Cluster::Categories,
        Cluster::Purposes,
        Cluster::Internal,
        Cluster::Partners,
        Cluster::Authorities,
    ];

    fn key(self) -> &'static str {
        match self {
            Cluster::Subjects => "subjects",
            Cluster::Categories => "categories",
            Cluster::Purposes => "purposes",
            Cluster::Internal => "internal",
            Cluster::Partners => "partners",
            Cluster::Authorities => "authorities",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Cluster::Subjects => "Data subjects",
            Cluster::Categories => "Data categories",
            Cluster::Purposes => "Purposes",
            Cluster::Internal => "Inside the business",
            Cluster::Partners => "Partners",
            Cluster::Authorities => "Authorities (on lawful request)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Solid,
    /// An optional use, a cross-border transfer or a disclosure on request.
    Dashed,
}

struct Node {
    id: String,
    label: String,
    cluster: Cluster,
}

struct Edge {
    from: String,
    to: String,
    label: Option<String>,
    style: Style,
}

#[derive(Default)]
struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

impl Graph {
    fn node(&mut self, cluster: Cluster, id: &str, label: String) {
        let id = format!("{}_{id}", cluster.key());
        if !self.nodes.iter().any(|n| n.id == id) {
            self.nodes.push(Node { id, label, cluster });
        }
    }

    fn edge(
        &mut self,
        from: (Cluster, &str),
        to: (Cluster, &str),
        label: Option<String>,
        style: Style,
    ) {
        let from = format!("{}_{}", from.0.key(), from.1);
        let to = format!("{}_{}", to.0.key(), to.1);
        if !self.edges.iter().any(|e| e.from == from && e.to == to) {
            self.edges.push(Edge {
                from,
                to,
                label,
                style,
            });
        }
    }
}

fn subject_key(s: Subject) -> &'static str {
    match s {
        Subject::Customers => "customers",
        Subject::Guests => "guests",
        Subject::Callers => "callers",
        Subject::Visitors => "visitors",
    }
}

fn graph(policy: &Policy) -> Graph {
    let lang = Lang::En;
    let mut g = Graph::default();
    for c in &policy.categories {
        let mut label = c.label.get(lang).to_owned();
        if c.is_sensitive() {
            label.push_str(" (sensitive)");
        }
        g.node(Cluster::Categories, c.id.as_str(), label);
    }
    for p in &policy.purposes {
        let label = format!(
            "{} [{}]",
            p.id,
            labels::legal_basis(p.legal_basis).get(lang)
        );
        g.node(Cluster::Purposes, p.id.as_str(), label);
        for s in &p.subjects {
            g.node(
                Cluster::Subjects,
                subject_key(*s),
                labels::subject(*s).get(lang).to_owned(),
            );
            for c in p.categories() {
                g.edge(
                    (Cluster::Subjects, subject_key(*s)),
                    (Cluster::Categories, c.as_str()),
                    None,
                    Style::Solid,
                );
            }
        }
        for c in &p.required {
            g.edge(
                (Cluster::Categories, c.as_str()),
                (Cluster::Purposes, p.id.as_str()),
                None,
                Style::Solid,
            );
        }
        for o in &p.optional {
            let to = (Cluster::Purposes, p.id.as_str());
            g.edge(
                (Cluster::Categories, o.category.as_str()),
                to,
                Some("optional".to_owned()),
                Style::Dashed,
            );
        }
    }
    for r in &policy.roles {
        g.node(
            Cluster::Internal,
            r.id.as_str(),
            r.label.get(lang).to_owned(),
        );
        for p in &r.purposes {
            g.edge(
                (Cluster::Purposes, p.as_str()),
                (Cluster::Internal, r.id.as_str()),
                None,
                Style::Solid,
            );
        }
    }
    for p in &policy.partners {
        let label = format!("{} ({})", p.name.get(lang), p.country);
        g.node(Cluster::Partners, p.id.as_str(), label);
        let (label, style) = if p.cross_border {
            (
                format!("{} fields, cross-border to {}", p.fields.len(), p.country),
                Style::Dashed,
            )
        } else {
            (format!("{} fields", p.fields.len()), Style::Solid)
        };
        g.edge(
            (Cluster::Purposes, p.purpose.as_str()),
            (Cluster::Partners, p.id.as_str()),
            Some(label),
            style,
        );
    }
    let legal = policy
        .purposes
        .iter()
        .find(|p| p.legal_basis == LegalBasis::LegalObligation);
    for a in &policy.authorities {
        g.node(
            Cluster::Authorities,
            a.id.as_str(),
            a.name.get(lang).to_owned(),
        );
        if let Some(purpose) = legal {
            let from = (Cluster::Purposes, purpose.id.as_str());
            g.edge(
                from,
                (Cluster::Authorities, a.id.as_str()),
                Some("on request".to_owned()),
                Style::Dashed,
            );
        }
    }
    g
}

/// The data flow as a Graphviz DOT digraph (labels in English).
pub fn dot(policy: &Policy) -> String {
    let g = graph(policy);
    let mut out = String::from(
        "digraph data_flow {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n",
    );
    for cluster in Cluster::ALL {
        let _ = writeln!(
            out,
            "  subgraph cluster_{} {{\n    label={};",
            cluster.key(),
            dot_quote(cluster.title())
        );
        for n in g.nodes.iter().filter(|n| n.cluster == cluster) {
            let _ = writeln!(out, "    {} [label={}];", n.id, dot_quote(&n.label));
        }
        out.push_str("  }\n");
    }
    for e in &g.edges {
        let mut attrs = Vec::new();
        if let Some(label) = &e.label {
            attrs.push(format!("label={}", dot_quote(label)));
        }
        if e.style == Style::Dashed {
            attrs.push("style=dashed".to_owned());
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(out, "  {} -> {}{attrs};", e.from, e.to);
    }
    out.push_str("}\n");
    out
}

/// The data flow as a Mermaid flowchart (labels in English).
pub fn mermaid(policy: &Policy) -> String {
    let g = graph(policy);
    let mut out = String::from("flowchart LR\n");
    for cluster in Cluster::ALL {
        let _ = writeln!(
            out,
            "  subgraph {}[\"{}\"]",
            cluster.key(),
            mermaid_text(cluster.title())
        );
        for n in g.nodes.iter().filter(|n| n.cluster == cluster) {
            let _ = writeln!(out, "    {}[\"{}\"]", n.id, mermaid_text(&n.label));
        }
        out.push_str("  end\n");
    }
    for e in &g.edges {
        let arrow = match e.style {
            Style::Solid => "-->",
            Style::Dashed => "-.->",
        };
        match &e.label {
            Some(label) => {
                let _ = writeln!(
                    out,
                    "  {} {arrow}|\"{}\"| {}",
                    e.from,
                    mermaid_text(label),
                    e.to
                );
            }
            None => {
                let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
            }
        }
    }
    out
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Mermaid has no escape for `"` inside a quoted label; its HTML entity code is accepted.
fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}
