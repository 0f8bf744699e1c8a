//! A small document model, so the notice and the records are built once and written out as
//! Markdown or HTML by one emitter each: the two formats cannot say different things.

use std::fmt::Write;

/// A run of inline content.
#[derive(Debug, Clone)]
pub(crate) enum Inline {
    Text(String),
    Strong(String),
    Code(String),
    Link { text: String, href: String },
}

pub(crate) type Line = Vec<Inline>;

#[derive(Debug, Clone)]
pub(crate) enum Block {
    Heading {
        level: u8,
        text: String,
    },
    Paragraph(Line),
    List(Vec<Line>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Preformatted text (diagrams), written as a fenced block in Markdown.
    Code {
        language: String,
        body: String,
    },
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Document {
    pub blocks: Vec<Block>,
}

impl Document {
    pub fn heading(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading {
            level,
            text: text.into(),
        });
    }

    pub fn para(&mut self, text: impl Into<String>) {
        self.blocks
            .push(Block::Paragraph(vec![Inline::Text(text.into())]));
    }

    pub fn line(&mut self, line: Line) {
        self.blocks.push(Block::Paragraph(line));
    }

    pub fn list(&mut self, items: Vec<Line>) {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
    }

    pub fn table(&mut self, header: Vec<String>, rows: Vec<Vec<String>>) {
        if !rows.is_empty() {
            self.blocks.push(Block::Table { header, rows });
        }
    }

    pub fn code(&mut self, language: &str, body: String) {
        self.blocks.push(Block::Code {
            language: language.to_owned(),
            body,
        });
    }

    /// The document as CommonMark (with GitHub tables).
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Heading { level, text } => {
                    let _ = writeln!(
                        out,
                        "{} {}\n",
                        "#".repeat(usize::from(*level)),
                        md_escape(text)
                    );
                }
                Block::Paragraph(line) => {
                    let _ = writeln!(out, "{}\n", md_line(line));
                }
                Block::List(items) => {
                    for item in items {
                        let _ = writeln!(out, "- {}", md_line(item));
                    }
                    out.push('\n');
                }
                Block::Table { header, rows } => {
                    let _ = writeln!(
                        out,
                        "| {} |",
                        header
                            .iter()
                            .map(|h| md_cell(h))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    );
                    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
                    for row in rows {
                        let _ = writeln!(
                            out,
                            "| {} |",
                            row.iter()
                                .map(|c| md_cell(c))
                                .collect::<Vec<_>>()
                                .join(" | ")
                        );
                    }
                    out.push('\n');
                }
                Block::Code { language, body } => {
                    let _ = writeln!(out, "```{language}\n{}\n```\n", body.trim_end());
                }
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }

    /// The document as an HTML fragment (no `<html>` or `<body>`).
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Heading { level, text } => {
                    let _ = writeln!(out, "<h{level}>{}</h{level}>", html_escape(text));
                }
                Block::Paragraph(line) => {
                    let _ = writeln!(out, "<p>{}</p>", html_line(line));
                }
                Block::List(items) => {
                    out.push_str("<ul>\n");
                    for item in items {
                        let _ = writeln!(out, "<li>{}</li>", html_line(item));
                    }
                    out.push_str("</ul>\n");
                }
                Block::Table { header, rows } => {
                    out.push_str("<table>\n<thead><tr>");
                    for h in header {
                        let _ = write!(out, "<th scope=\"col\">{}</th>", html_escape(h));
                    }
                    out.push_str("</tr></thead>\n<tbody>\n");
                    for row in rows {
                        out.push_str("<tr>");
                        // Each cell names its column: a narrow screen stacks the rows and
                        // shows the label before the value (`NOTICE_CSS`).
                        for (i, cell) in row.iter().enumerate() {
                            let label = header.get(i).map_or("", String::as_str);
                            let _ = write!(
                                out,
                                "<td data-label=\"{}\">{}</td>",
                                html_escape(label),
                                html_escape(cell)
                            );
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table>\n");
                }
                Block::Code { language, body } => {
                    let _ = writeln!(
                        out,
                        "<pre><code class=\"language-{}\">{}</code></pre>",
                        html_escape(language),
                        html_escape(body.trim_end())
                    );
                }
            }
        }
        out
    }
}

fn md_line(line: &Line) -> String {
    line.iter()
        .map(|inline| match inline {
            Inline::Text(t) => md_escape(t),
            Inline::Strong(t) => md_strong(t),
            Inline::Code(t) => format!("`{}`", t.replace('`', "'")),
            Inline::Link { text, href } => {
                format!("[{}](<{}>)", md_escape(text), href.replace(['<', '>'], ""))
            }
        })
        .collect()
}

/// Strong text. CommonMark closes `**` only right after a non-space (and opens it only before
/// one), so spaces at either end of the text go outside the markers: `**Mục đích:** x`, never
/// `**Mục đích: **x`, which shows its asterisks.
fn md_strong(text: &str) -> String {
    let inner = text.trim();
    if inner.is_empty() {
        return text.to_owned();
    }
    let lead = text.len() - text.trim_start().len();
    let trail = text.len() - text.trim_end().len();
    format!(
        "{}**{}**{}",
        text.get(..lead).unwrap_or(""),
        md_escape(inner),
        text.get(text.len() - trail..).unwrap_or("")
    )
}

/// Escapes the characters that would otherwise start Markdown syntax inside prose.
fn md_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_cell(text: &str) -> String {
    md_escape(text).replace('\n', " ")
}

fn html_line(line: &Line) -> String {
    line.iter()
        .map(|inline| match inline {
            Inline::Text(t) => html_escape(t),
            Inline::Strong(t) => format!("<strong>{}</strong>", html_escape(t)),
            Inline::Code(t) => format!("<code>{}</code>", html_escape(t)),
            Inline::Link { text, href } => format!(
                "<a href=\"{}\">{}</a>",
                html_escape(href),
                html_escape(text)
            ),
        })
        .collect()
}

pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_both_formats() {
        let mut doc = Document::default();
        doc.para("<script>alert('x')</script> *bold* | pipe");
        doc.table(vec!["a|b".into()], vec![vec!["<i>".into()]]);
        let html = doc.to_html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<i>"));
        assert!(
            html.contains("<td data-label=\"a|b\">&lt;i&gt;</td>"),
            "{html}"
        );
        let md = doc.to_markdown();
        assert!(md.contains("\\<script\\>"));
        assert!(md.contains("\\*bold\\*"));
        assert!(md.contains("a\\|b"));
    }
}
