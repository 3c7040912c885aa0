//! Every user-visible chat string lives in `locales/<lang>.ftl` (Fluent).
//! The files are embedded so the binary needs nothing at run time; a test
//! proves every locale has every key with the same placeholders.

use std::collections::{BTreeMap, BTreeSet};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The embedded locale files: (language tag, source).
pub const SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en.ftl")),
    ("zh-CN", include_str!("../locales/zh-CN.ftl")),
];

/// The fallback language.
pub const DEFAULT: &str = "en";

/// All loaded locales.
pub struct Locales {
    bundles: BTreeMap<&'static str, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for Locales {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.bundles.keys()).finish()
    }
}

/// A message argument.
pub type Args<'a> = [(&'a str, FluentValue<'a>)];

impl Locales {
    /// Loads the embedded locales; a broken file is a build-time mistake the
    /// locale tests catch, so here it only logs and skips the bad entries.
    pub fn embedded() -> Locales {
        let mut bundles = BTreeMap::new();
        for (tag, src) in SOURCES {
            let res = match FluentResource::try_new(src.to_string()) {
                Ok(r) => r,
                Err((r, errs)) => {
                    tracing::error!(locale = tag, errors = ?errs, "locale file has syntax errors");
                    r
                }
            };
            let lang: LanguageIdentifier = tag.parse().unwrap_or_default();
            let mut b = FluentBundle::new_concurrent(vec![lang]);
            // Telegram renders the isolation marks as junk in some clients.
            b.set_use_isolating(false);
            if let Err(errs) = b.add_resource(res) {
                tracing::error!(locale = tag, errors = ?errs, "locale file has duplicate keys");
            }
            bundles.insert(*tag, b);
        }
        Locales { bundles }
    }

    pub fn languages(&self) -> Vec<&'static str> {
        self.bundles.keys().copied().collect()
    }

    /// Chooses a locale: the configured one, else the person's Telegram
    /// language when a locale exists for it, else English.
    pub fn pick(&self, configured: Option<&str>, telegram: Option<&str>) -> &'static str {
        configured
            .and_then(|c| self.matching(c))
            .or_else(|| telegram.and_then(|t| self.matching(t)))
            .unwrap_or(DEFAULT)
    }

    /// The locale for a language tag: exact, then by primary language
    /// (`zh`, `zh-hans`, `zh-TW` → `zh-CN`).
    pub fn matching(&self, tag: &str) -> Option<&'static str> {
        let tag = tag.trim().replace('_', "-");
        if let Some(k) = self.bundles.keys().find(|k| k.eq_ignore_ascii_case(&tag)) {
            return Some(k);
        }
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        self.bundles
            .keys()
            .find(|k| {
                k.split('-')
                    .next()
                    .is_some_and(|p| p.eq_ignore_ascii_case(&primary))
            })
            .copied()
    }

    /// Formats `key` in `lang`, falling back to English, then to the key.
    pub fn t(&self, lang: &str, key: &str, args: &Args<'_>) -> String {
        for l in [lang, DEFAULT] {
            if let Some(s) = self.format(l, key, args) {
                return s;
            }
        }
        tracing::warn!(key, "missing locale key");
        key.to_string()
    }

    fn format(&self, lang: &str, key: &str, args: &Args<'_>) -> Option<String> {
        let b = self.bundles.get(lang)?;
        let msg = b.get_message(key)?;
        let pattern = msg.value()?;
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            fa.set(*k, v.clone());
        }
        let mut errors = vec![];
        let s = b.format_pattern(pattern, Some(&fa), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, lang, errors = ?errors, "locale formatting errors");
        }
        Some(s.into_owned())
    }
}

/// Keys and the placeholders each uses, from a locale source.
pub fn keys_and_placeholders(src: &str) -> BTreeMap<String, BTreeSet<String>> {
    use fluent_syntax::ast;
    let res = match fluent_syntax::parser::parse(src) {
        Ok(r) => r,
        Err((r, _)) => r,
    };
    let mut out = BTreeMap::new();
    for entry in res.body {
        if let ast::Entry::Message(m) = entry {
            let mut vars = BTreeSet::new();
            if let Some(p) = &m.value {
                collect_vars(p, &mut vars);
            }
            out.insert(m.id.name.to_string(), vars);
        }
    }
    out
}

fn collect_vars(p: &fluent_syntax::ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
    use fluent_syntax::ast::{Expression, InlineExpression, PatternElement};
    fn inline(e: &InlineExpression<&str>, vars: &mut BTreeSet<String>) {
        if let InlineExpression::VariableReference { id } = e {
            vars.insert(id.name.to_string());
        }
        if let InlineExpression::Placeable { expression } = e {
            expr(expression, vars);
        }
    }
    fn expr(e: &Expression<&str>, vars: &mut BTreeSet<String>) {
        match e {
            Expression::Inline(i) => inline(i, vars),
            Expression::Select { selector, variants } => {
                inline(selector, vars);
                for v in variants {
                    collect_vars(&v.value, vars);
                }
            }
        }
    }
    for el in &p.elements {
        if let PatternElement::Placeable { expression } = el {
            expr(expression, vars);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_key_with_the_same_placeholders() {
        let reference = keys_and_placeholders(SOURCES[0].1);
        assert!(reference.len() > 10, "the English locale looks empty");
        for (tag, src) in &SOURCES[1..] {
            let other = keys_and_placeholders(src);
            let missing: Vec<&String> = reference
                .keys()
                .filter(|k| !other.contains_key(*k))
                .collect();
            let extra: Vec<&String> = other
                .keys()
                .filter(|k| !reference.contains_key(*k))
                .collect();
            assert!(missing.is_empty(), "{tag} lacks {missing:?}");
            assert!(extra.is_empty(), "{tag} has keys English lacks: {extra:?}");
            for (k, vars) in &reference {
                assert_eq!(&other[k], vars, "{tag}: placeholders of `{k}` differ");
            }
        }
    }

    #[test]
    fn locale_files_parse_cleanly() {
        for (tag, src) in SOURCES {
            assert!(
                fluent_syntax::parser::parse(*src).is_ok(),
                "{tag} has syntax errors"
            );
        }
    }

    #[test]
    fn picking_a_locale() {
        let l = Locales::embedded();
        assert_eq!(l.pick(None, None), "en");
        assert_eq!(l.pick(None, Some("zh-hans")), "zh-CN");
        assert_eq!(l.pick(None, Some("de")), "en");
        assert_eq!(l.pick(Some("zh_CN"), Some("en")), "zh-CN");
        assert_eq!(l.pick(Some("xx"), Some("zh")), "zh-CN");
    }
}
