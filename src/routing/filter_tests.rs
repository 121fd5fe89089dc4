//! The filter language, op by op: what passes, what the error-counts-as-false rule gives, and
//! what is refused with which JSON Pointer.

use serde_json::{Value, json};

use super::*;

fn f(filter: Value) -> Filter {
    Filter::parse(&filter).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

fn refused(filter: Value) -> NodeError {
    Filter::parse(&filter).expect_err("should be refused")
}

fn clause(path: &str, op: &str, value: Value) -> Filter {
    f(json!({"path": path, "op": op, "value": value}))
}

#[test]
fn every_op_on_a_sample_order() {
    let p = json!({
        "total": 120.5, "currency": "EUR", "tags": ["vip", "eu"], "note": "gift wrap please",
        "placed_at": "2026-12-01T10:00:00+01:00", "items": [{"sku": "A-1", "qty": 2}], "n": 3
    });
    let cases = [
        ("$.currency", "eq", json!("EUR"), true),
        ("$.total", "eq", json!(120.5), true),
        ("$.n", "eq", json!(3.0), true),
        ("$.n", "ne", json!("3"), true),
        ("$.currency", "ne", json!("EUR"), false),
        ("$.total", "gt", json!(100), true),
        ("$.total", "gte", json!(120.5), true),
        ("$.total", "lt", json!(100), false),
        ("$.total", "lte", json!(120.5), true),
        ("$.placed_at", "gt", json!("2026-12-01T08:59:59Z"), true),
        ("$.placed_at", "lt", json!("2026-12-01T09:00:01Z"), true),
        ("$.currency", "gt", json!("DKK"), true),
        ("$.currency", "in", json!(["USD", "EUR"]), true),
        ("$.currency", "nin", json!(["USD", "EUR"]), false),
        ("$.currency", "nin", json!(["USD"]), true),
        ("$.note", "prefix", json!("gift"), true),
        ("$.note", "prefix", json!("wrap"), false),
        ("$.tags", "contains", json!("vip"), true),
        ("$.tags", "contains", json!("us"), false),
        ("$.note", "contains", json!("wrap"), true),
        ("$.items[0].sku", "regex", json!("^[A-Z]-\\d+$"), true),
        ("$.items[0].qty", "gte", json!(2), true),
    ];
    for (path, op, value, want) in cases {
        assert_eq!(
            clause(path, op, value.clone()).matches(&p),
            want,
            "{path} {op} {value}"
        );
    }
    assert!(f(json!({"path": "$.note", "op": "exists"})).matches(&p));
    assert!(!f(json!({"path": "$.nope", "op": "exists"})).matches(&p));
    assert!(f(json!({"path": "$.nope", "op": "missing"})).matches(&p));
    assert!(!f(json!({"path": "$.note", "op": "missing"})).matches(&p));
}

#[test]
fn any_error_counts_as_false_and_not_of_it_is_true() {
    let p = json!({"total": "high", "n": 1, "s": 5});
    // A missing path, a type mismatch: false, whichever op.
    for (path, op, value) in [
        ("$.missing", "eq", json!(1)),
        ("$.missing", "ne", json!(1)),
        ("$.missing", "nin", json!([1])),
        ("$.total", "gt", json!(100)),
        ("$.n", "prefix", json!("1")),
        ("$.n", "contains", json!("1")),
        ("$.s", "regex", json!("5")),
        ("$.n", "lt", json!("2")),
    ] {
        let filter = clause(path, op, value);
        assert!(!filter.matches(&p), "{path} {op}");
        assert!(Filter::Not(Box::new(filter)).matches(&p), "not {path} {op}");
    }
}

#[test]
fn groups_combine_and_explain_reports_every_clause() {
    let filter = f(json!({"all": [
        {"path": "$.type", "op": "eq", "value": "order"},
        {"any": [{"path": "$.total", "op": "gt", "value": 100}, {"not": {"path": "$.vip", "op": "missing"}}]}
    ]}));
    assert!(filter.matches(&json!({"type": "order", "total": 150})));
    assert!(filter.matches(&json!({"type": "order", "total": 5, "vip": true})));
    assert!(!filter.matches(&json!({"type": "order", "total": 5})));
    let (matched, reasons) = filter.explain(&json!({"type": "order", "total": 5}));
    assert!(!matched);
    assert_eq!(reasons.len(), 3);
    assert_eq!(
        (
            reasons[1].path.as_str(),
            reasons[1].op,
            reasons[1].found.clone(),
            reasons[1].result
        ),
        ("$.total", "gt", Some(json!(5)), false)
    );
    assert_eq!((reasons[2].found.clone(), reasons[2].result), (None, true));
}

#[test]
fn bad_filters_are_refused_with_the_pointer_of_the_bad_node() {
    let cases = [
        (
            json!({"all": [{"path": "$.a", "op": "eqq", "value": 1}]}),
            "/all/0/op",
            "unknown op 'eqq'",
        ),
        (json!({"all": []}), "/all", "non-empty array"),
        (json!({"any": {"path": "$.a"}}), "/any", "non-empty array"),
        (json!({"not": [1]}), "/not", "must be a JSON object"),
        (
            json!({"path": "$.a", "op": "eq", "value": 1, "filtr": 1}),
            "/filtr",
            "unknown field 'filtr'",
        ),
        (
            json!({"all": [{"path": "$.a", "op": "eq", "value": 1}], "any": []}),
            "/any",
            "unknown field",
        ),
        (
            json!({"path": "$..a", "op": "exists"}),
            "/path",
            "many nodes",
        ),
        (
            json!({"path": "a", "op": "exists"}),
            "/path",
            "must start with '$'",
        ),
        (
            json!({"path": 3, "op": "exists"}),
            "/path",
            "must be a string",
        ),
        (json!({"op": "exists"}), "", "a filter is"),
        (
            json!({"path": "$.a", "op": "exists", "value": 1}),
            "/value",
            "takes no value",
        ),
        (json!({"path": "$.a", "op": "eq"}), "", "needs a 'value'"),
        (
            json!({"path": "$.a", "op": "gt", "value": true}),
            "/value",
            "a number or a string",
        ),
        (
            json!({"path": "$.a", "op": "in", "value": "x"}),
            "/value",
            "an array",
        ),
        (
            json!({"path": "$.a", "op": "prefix", "value": 1}),
            "/value",
            "a string",
        ),
        (
            json!({"path": "$.a", "op": "regex", "value": "("}),
            "/value",
            "invalid regex",
        ),
        (
            json!({"path": "$.a", "op": "regex", "value": "a{1000}{1000}"}),
            "/value",
            "invalid regex",
        ),
        (
            json!({"path": "$.a", "op": "regex", "value": "a".repeat(1025)}),
            "/value",
            "at most 1024 bytes",
        ),
        (
            json!({"path": "$.a", "op": "in", "value": vec![1; 1001]}),
            "/value",
            "at most 1000 values",
        ),
        (json!("x"), "", "must be a JSON object"),
    ];
    for (filter, pointer, words) in cases {
        let e = refused(filter.clone());
        assert_eq!(e.pointer, pointer, "{filter}: {e}");
        assert!(e.message.contains(words), "{filter}: {e}");
    }
}

#[test]
fn depth_and_clause_limits_hold() {
    let mut deep = json!({"path": "$.a", "op": "exists"});
    for _ in 0..7 {
        deep = json!({"not": deep});
    }
    assert!(Filter::parse(&deep).is_ok(), "8 levels are allowed");
    let e = refused(json!({"not": deep}));
    assert!(e.message.contains("at most 8 deep"), "{e}");
    assert_eq!(e.pointer, "/not/not/not/not/not/not/not/not");

    let clauses: Vec<Value> = (0..64)
        .map(|_| json!({"path": "$.a", "op": "exists"}))
        .collect();
    assert!(Filter::parse(&json!({"any": clauses})).is_ok());
    let clauses: Vec<Value> = (0..65)
        .map(|_| json!({"path": "$.a", "op": "exists"}))
        .collect();
    let e = refused(json!({"any": clauses}));
    assert_eq!(e.pointer, "/any/64");
}
