//! Mapping and text templates: what they render, and what they refuse at write time.

use serde_json::{Value, json};

use super::*;

fn scope(payload: &Value) -> Scope<'_> {
    Scope {
        id: "evt_1",
        event_type: "order.created",
        payload,
    }
}

fn render(template: Value, payload: Value) -> Result<Rendered, String> {
    Template::parse(&template)
        .map_err(|e| e.to_string())?
        .render(&scope(&payload))
}

#[test]
fn a_mapping_copies_values_with_their_types() {
    let out = render(
        json!({"kind": "mapping", "base": {"source": "herald", "lines": []}, "set": [
            {"src": "$.order.id", "dest": "/id"},
            {"src": "$.order.total", "dest": "/amount/value"},
            {"src": "$.order.items[0]", "dest": "/lines/-"},
            {"src": "$.coupon", "dest": "/coupon", "default": null}
        ]}),
        json!({"order": {"id": 42, "total": 12.5, "items": [{"sku": "A"}]}}),
    )
    .unwrap();
    assert_eq!(out.content_type, "application/json");
    let body: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        body,
        json!({"source": "herald", "lines": [{"sku": "A"}], "id": 42, "amount": {"value": 12.5}, "coupon": null})
    );
}

#[test]
fn a_missing_source_without_default_fails_naming_the_path() {
    let e = render(
        json!({"kind": "mapping", "set": [{"src": "$.order.id", "dest": "/id"}]}),
        json!({"order": {}}),
    )
    .unwrap_err();
    assert!(e.contains("$.order.id"), "{e}");
}

#[test]
fn a_text_template_sees_id_type_and_payload() {
    let out = render(
        json!({"kind": "text", "body": "{{ type }} {{ id }}: {{ payload.user.name }} owes {{ payload.total }}"}),
        json!({"user": {"name": "Ada"}, "total": 3}),
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out.body).unwrap(),
        "order.created evt_1: Ada owes 3"
    );
    assert_eq!(out.content_type, "text/plain");
}

#[test]
fn an_undefined_name_and_a_runaway_loop_are_errors() {
    let e = render(
        json!({"kind": "text", "body": "{{ payload.nope.deeper }}"}),
        json!({}),
    )
    .unwrap_err();
    assert!(e.contains("undefined"), "{e}");
    let e = render(
        json!({"kind": "text", "body": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"}),
        json!({}),
    )
    .unwrap_err();
    assert!(e.contains("fuel"), "{e}");
}

#[test]
fn templates_have_no_loader() {
    // Built without multi-template support: `include`, `extends` and `import` do not parse.
    for body in [
        "{% include 'other.txt' %}",
        "{% extends 'base' %}",
        "{% import 'm' as m %}",
    ] {
        let e = Template::parse(&json!({"kind": "text", "body": body})).unwrap_err();
        assert_eq!(e.pointer, "/body", "{body}: {e}");
    }
}

#[test]
fn an_oversized_body_is_an_error() {
    let big = "x".repeat(MAX_BODY + 1);
    let e = render(
        json!({"kind": "mapping", "set": [{"src": "$.big", "dest": "/big"}]}),
        json!({"big": big}),
    )
    .unwrap_err();
    assert!(e.contains("over the 262144 limit"), "{e}");
}

#[test]
fn bad_templates_are_refused_with_the_pointer_of_the_bad_node() {
    let cases = [
        (
            json!({"kind": "mapping", "set": [{"src": "$..a", "dest": "/a"}]}),
            "/set/0/src",
            "many nodes",
        ),
        (
            json!({"kind": "mapping", "set": [{"src": "$.a", "dest": "a"}]}),
            "/set/0/dest",
            "JSON Pointer",
        ),
        (
            json!({"kind": "mapping", "set": [{"src": "$.a", "dest": "/a", "dflt": 1}]}),
            "/set/0/dflt",
            "unknown field",
        ),
        (
            json!({"kind": "mapping", "base": 3}),
            "/base",
            "object or an array",
        ),
        (
            json!({"kind": "mapping", "set": {}}),
            "/set",
            "must be an array",
        ),
        (
            json!({"kind": "text", "body": "{{ unclosed"}),
            "/body",
            "does not parse",
        ),
        (
            json!({"kind": "text", "body": "x", "content_type": "not a type"}),
            "/content_type",
            "media type",
        ),
        (json!({"kind": "text"}), "", "'body' is required"),
        (json!({"kind": "jinja"}), "/kind", "unknown kind"),
        (json!({"body": "x"}), "", "'kind' is required"),
        (json!(["x"]), "", "must be a JSON object"),
    ];
    for (template, pointer, words) in cases {
        let e = Template::parse(&template).expect_err("should be refused");
        assert_eq!(e.pointer, pointer, "{template}: {e}");
        assert!(e.message.contains(words), "{template}: {e}");
    }
}

#[test]
fn without_a_template_the_body_is_the_payload_in_its_own_order() {
    let payload: Value = serde_json::from_str(r#"{"to":"+905551111111","content":"hi"}"#).unwrap();
    assert_eq!(
        plain(&payload).body,
        br#"{"to":"+905551111111","content":"hi"}"#
    );
}
