//! A small HTML builder whose only way to add text is escaped: markup comes from `&'static
//! str` literals written in this module's callers, everything else goes through [`Html::text`].
//!
//! (No templating crate is in the lock file or installed offline; this builder is the
//! fallback the design allows, and its escaping is tested below.)

use std::fmt;

/// A fragment of HTML under construction.
#[derive(Default)]
pub struct Html(String);

impl fmt::Debug for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A page can hold the customer's own data: never printed.
        f.write_str("Html(<redacted>)")
    }
}

impl Html {
    pub fn new() -> Html {
        Html(String::with_capacity(4096))
    }

    /// Markup written in the source: only literals, never anything built at run time.
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.0.push_str(markup);
        self
    }

    /// Text, escaped for an element's content or a double-quoted attribute value.
    pub fn text(&mut self, text: &str) -> &mut Html {
        for c in text.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// `<tag>` + escaped text + `</tag>`, for a literal opening and closing tag.
    pub fn el(&mut self, open: &'static str, text: &str, close: &'static str) -> &mut Html {
        self.raw(open).text(text).raw(close)
    }

    /// Another fragment, already built (and so already escaped).
    pub fn append(&mut self, other: Html) -> &mut Html {
        self.0.push_str(&other.0);
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Html;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        let mut h = Html::new();
        h.raw("<p title=\"")
            .text("a\"b'c")
            .raw("\">")
            .text("<script>&</script>")
            .raw("</p>");
        assert_eq!(
            h.into_string(),
            "<p title=\"a&quot;b&#39;c\">&lt;script&gt;&amp;&lt;/script&gt;</p>"
        );
    }

    #[test]
    fn el_and_append_keep_escaping() {
        let mut inner = Html::new();
        inner.el("<b>", "x<y", "</b>");
        let mut outer = Html::new();
        outer.raw("<div>").append(inner).raw("</div>");
        assert_eq!(outer.into_string(), "<div><b>x&lt;y</b></div>");
    }

    #[test]
    fn debug_never_shows_content() {
        let mut h = Html::new();
        h.text("secret-value");
        assert!(!format!("{h:?}").contains("secret"));
    }
}
