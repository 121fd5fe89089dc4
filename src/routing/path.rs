//! [`Path`]: an RFC 9535 singular query (`$.a.b`, `$['a b']`, `$.items[0].sku`, `$.list[-1]`),
//! parsed once at the edge and looked up in a JSON value. Anything that can select more than
//! one node (wildcards, `..`, slices, filters, unions) is refused with the reason.

use std::fmt;

use serde_json::Value;

/// One step of a singular query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Name(String),
    Index(i64),
}

/// A parsed singular query. Its text form is kept for messages and explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    segments: Vec<Segment>,
}

/// The most segments a path may have, and the longest text it may be.
const MAX_SEGMENTS: usize = 32;
const MAX_LEN: usize = 512;

impl Path {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_LEN {
            return Err(format!("a path is at most {MAX_LEN} bytes"));
        }
        let mut rest = text
            .strip_prefix('$')
            .ok_or_else(|| format!("path '{text}' must start with '$' (RFC 9535)"))?;
        let mut segments = Vec::new();
        while !rest.is_empty() {
            let (segment, after) = next_segment(rest).map_err(|e| format!("path '{text}': {e}"))?;
            segments.push(segment);
            rest = after;
        }
        if segments.len() > MAX_SEGMENTS {
            return Err(format!(
                "path '{text}' has more than {MAX_SEGMENTS} segments"
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The node this path selects in `root`, if there is one.
    pub fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.segments
            .iter()
            .try_fold(root, |node, segment| match (segment, node) {
                (Segment::Name(name), Value::Object(map)) => map.get(name),
                (Segment::Index(i), Value::Array(items)) => {
                    let at = if *i < 0 {
                        items.len().checked_sub(i.unsigned_abs() as usize)?
                    } else {
                        *i as usize
                    };
                    items.get(at)
                }
                _ => None,
            })
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn next_segment(rest: &str) -> Result<(Segment, &str), String> {
    if rest.starts_with("..") {
        return Err("descendant segments ('..') can select many nodes; use a singular path".into());
    }
    if let Some(after) = rest.strip_prefix('.') {
        if after.starts_with('*') {
            return Err("wildcards ('*') can select many nodes; use a singular path".into());
        }
        let end = after
            .char_indices()
            .find(|&(i, c)| !is_name_char(c, i == 0))
            .map_or(after.len(), |(i, _)| i);
        if end == 0 {
            return Err("a '.' must be followed by a member name".into());
        }
        return Ok((Segment::Name(after[..end].to_owned()), &after[end..]));
    }
    if let Some(after) = rest.strip_prefix('[') {
        let after = after.trim_start();
        let (segment, tail) = match after.chars().next() {
            Some(quote @ ('\'' | '"')) => quoted(&after[1..], quote)?,
            Some(c) if c == '-' || c.is_ascii_digit() => index(after)?,
            _ => {
                return Err(
                    "a bracket holds one quoted name or one index; wildcards, slices, filters \
                     and unions can select many nodes"
                        .into(),
                );
            }
        };
        let tail = tail.trim_start();
        let tail = tail.strip_prefix(']').ok_or(
            "a bracket holds one quoted name or one index; wildcards, slices, filters and unions \
             can select many nodes",
        )?;
        return Ok((segment, tail));
    }
    Err(format!(
        "unexpected '{}': segments are .name, ['name'] or [index]",
        rest.chars().next().unwrap_or_default()
    ))
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_alphabetic()
        || c == '_'
        || (!c.is_ascii() && !c.is_whitespace())
        || (!first && c.is_ascii_digit())
}

fn index(text: &str) -> Result<(Segment, &str), String> {
    let end = text
        .char_indices()
        .skip(1)
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(text.len(), |(i, _)| i);
    let digits = &text[..end];
    let leading_zero =
        digits.trim_start_matches('-').len() > 1 && digits.trim_start_matches('-').starts_with('0');
    if digits == "-" || digits == "-0" || leading_zero {
        return Err(format!("'{digits}' is not an index"));
    }
    let value: i64 = digits
        .parse()
        .ok()
        .filter(|v: &i64| v.unsigned_abs() < (1 << 53))
        .ok_or_else(|| format!("'{digits}' is not an index"))?;
    Ok((Segment::Index(value), &text[end..]))
}

/// A quoted member name after its opening quote, with the escapes of RFC 9535.
fn quoted(text: &str, quote: char) -> Result<(Segment, &str), String> {
    let mut name = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((Segment::Name(name), &text[i + 1..])),
            '\\' => {
                let (_, e) = chars.next().ok_or("unterminated escape")?;
                name.push(match e {
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    '/' => '/',
                    '\\' => '\\',
                    '\'' | '"' => e,
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("'\\u{hex}' is not a character"))?
                    }
                    other => return Err(format!("unknown escape '\\{other}'")),
                });
            }
            c if (c as u32) < 0x20 => return Err("control characters must be escaped".into()),
            c => name.push(c),
        }
    }
    Err("unterminated quoted name".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, doc: &Value) -> Option<Value> {
        Path::parse(path).unwrap().lookup(doc).cloned()
    }

    #[test]
    fn singular_paths_select_one_node() {
        let doc =
            json!({"a": {"b": 1}, "a b": true, "items": [{"sku": "X"}, {"sku": "Y"}], "é": 2});
        assert_eq!(find("$", &doc), Some(doc.clone()));
        assert_eq!(find("$.a.b", &doc), Some(json!(1)));
        assert_eq!(find("$['a b']", &doc), Some(json!(true)));
        assert_eq!(find("$[\"a\"]['b']", &doc), Some(json!(1)));
        assert_eq!(find("$.items[0].sku", &doc), Some(json!("X")));
        assert_eq!(find("$.items[-1].sku", &doc), Some(json!("Y")));
        assert_eq!(find("$.items[ 1 ].sku", &doc), Some(json!("Y")));
        assert_eq!(find("$.é", &doc), Some(json!(2)));
        assert_eq!(find("$['it\\'s']", &json!({"it's": 3})), Some(json!(3)));
    }

    #[test]
    fn a_path_that_leads_nowhere_finds_nothing() {
        let doc = json!({"a": [1], "s": "text"});
        assert_eq!(find("$.b", &doc), None);
        assert_eq!(find("$.a[1]", &doc), None);
        assert_eq!(find("$.a[-2]", &doc), None);
        assert_eq!(find("$.s.x", &doc), None);
        assert_eq!(find("$.a.x", &doc), None);
        assert_eq!(find("$.s[0]", &doc), None);
    }

    #[test]
    fn queries_that_can_select_many_nodes_are_refused() {
        for bad in [
            "$.*",
            "$..a",
            "$[*]",
            "$[0:2]",
            "$[?@.a]",
            "$[0,1]",
            "$['a','b']",
        ] {
            let e = Path::parse(bad).unwrap_err();
            assert!(e.contains("many nodes"), "{bad}: {e}");
        }
    }

    #[test]
    fn malformed_paths_are_refused_with_the_reason() {
        assert!(
            Path::parse("a.b")
                .unwrap_err()
                .contains("must start with '$'")
        );
        assert!(Path::parse("$.").unwrap_err().contains("member name"));
        assert!(Path::parse("$.a b").unwrap_err().contains("unexpected ' '"));
        assert!(Path::parse("$['a").unwrap_err().contains("unterminated"));
        assert!(Path::parse("$[01]").unwrap_err().contains("not an index"));
        assert!(Path::parse("$[-0]").unwrap_err().contains("not an index"));
        assert!(Path::parse("$.1a").unwrap_err().contains("member name"));
        assert!(
            Path::parse(&format!("${}", ".a".repeat(40)))
                .unwrap_err()
                .contains("segments")
        );
    }
}
