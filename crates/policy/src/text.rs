//! Languages and bilingual text.

use serde::{Deserialize, Serialize};

/// A language the notice and every label is written in. Vietnamese is the source language
/// of the shop's policy and the default everywhere.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Vi, Lang::En];

    /// The BCP 47 tag (`vi`, `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// Parses a tag such as `vi`, `en`, `en-GB` or `vi-VN` (case-insensitive, primary subtag only).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("vi") {
            Some(Lang::Vi)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::from_tag(s).ok_or_else(|| format!("unknown language `{s}` (expected `vi` or `en`)"))
    }
}

/// A text in every language of the notice. A validated [`crate::Policy`] only holds complete
/// texts: validation refuses a policy with a missing translation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub vi: String,
    pub en: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }

    /// A text written in the program rather than the policy (headings, fixed labels).
    pub fn fixed(vi: &str, en: &str) -> Text {
        Text {
            vi: vi.to_owned(),
            en: en.to_owned(),
        }
    }
}
