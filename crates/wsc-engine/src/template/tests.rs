use super::*;
use serde_json::json;

fn ctx() -> Value {
    json!({
        "settings": { "base_url": "https://x.test", "n": 5, "empty": "" },
        "plan": { "identity": "a/b c", "attributes": { "active": true, "tags": ["x", "y"] } },
        "page": { "offset": 0, "cursor": null }
    })
}

#[test]
fn single_default_keeps_json_types_and_allows_missing_paths() {
    let mut t = Templates::new();
    let mut v = |src: &str| {
        let tpl = t.compile("body.x", src, Escape::None).unwrap();
        t.render_value(&tpl, &ctx()).unwrap()
    };
    assert_eq!(v("{{default plan.attributes.missing true}}"), json!(true));
    assert_eq!(v("{{default plan.attributes.active false}}"), json!(true));
    assert_eq!(v("{{default plan.attributes.missing null}}"), Value::Null);
    assert_eq!(v("{{default settings.empty 'x y'}}"), json!("x y"));
    assert_eq!(v("{{default plan.nothing settings.n}}"), json!(5));
    assert_eq!(v("{{ default plan.attributes.tags 0 }}"), json!(["x", "y"]));
}

#[test]
fn single_helper_expressions_keep_json_types() {
    let mut t = Templates::new();
    let c = ctx();
    let mut v = |src: &str| {
        let tpl = t.compile("body.x", src, Escape::None).unwrap();
        t.render_value(&tpl, &c)
    };
    assert_eq!(
        v("{{json plan.attributes.tags}}").unwrap(),
        json!(["x", "y"])
    );
    assert_eq!(
        v("{{default plan.attributes.tags (json '[]')}}").unwrap(),
        json!(["x", "y"])
    );
    assert_eq!(
        v("{{ default plan.attributes.groups (json '[]') }}").unwrap(),
        json!([])
    );
    assert_eq!(v("{{json '{\"a\": [1]}'}}").unwrap(), json!({"a": [1]}));
    assert_eq!(v("{{json plan.identity}}").unwrap(), json!("\"a/b c\""));
    assert_eq!(v("{{json settings.n}}").unwrap(), json!(5));
    assert_eq!(v("{{first plan.attributes.tags}}").unwrap(), json!("x"));
    assert_eq!(v("{{eq settings.n 5}}").unwrap(), json!(true));
    assert_eq!(v("{{len plan.attributes.tags}}").unwrap(), json!(2));
    assert!(v("{{timestamp}}").unwrap().is_u64());
    assert_eq!(v("{{upper plan.identity}}").unwrap(), json!("A/B C"));
    assert_eq!(
        v("{{default plan.attributes.missing (first plan.attributes.tags)}}").unwrap(),
        json!("x")
    );
    // With text around the expression, or in a block, the result is text.
    assert_eq!(
        v("tags={{json plan.attributes.tags}}").unwrap(),
        json!("tags=[\"x\",\"y\"]")
    );
    assert_eq!(
        v("{{#if settings.n}}{{json plan.attributes.tags}}{{/if}}").unwrap(),
        json!("[\"x\",\"y\"]")
    );
    assert_eq!(
        v("{{concat \"id=\" (json plan.identity)}}").unwrap(),
        json!("id=\"a/b c\"")
    );
    let e = v("{{upper plan.nope}}").unwrap_err();
    assert!(e.message.contains("plan.nope"), "{e}");
    let e = v("{{json 'not json'}}").unwrap_err();
    assert!(e.message.contains("not JSON text"), "{e}");
    let e = v("{{replace plan.identity \"a\"}}").unwrap_err();
    assert!(e.message.contains("takes 3 argument(s), found 2"), "{e}");
}

#[test]
fn helper_results_are_escaped_in_paths() {
    let mut t = Templates::new();
    let p = t
        .compile(
            "request.path",
            "/u/{{concat plan.identity \"/x\"}}/{{default plan.missing 'a b'}}",
            Escape::PathSegment,
        )
        .unwrap();
    assert_eq!(t.render(&p, &ctx()).unwrap(), "/u/a%2Fb%20c%2Fx/a%20b");
}

#[test]
fn single_paths_keep_json_types() {
    let mut t = Templates::new();
    let a = t
        .compile("body.active", "{{plan.attributes.active}}", Escape::None)
        .unwrap();
    assert_eq!(t.render_value(&a, &ctx()).unwrap(), json!(true));
    let l = t
        .compile("body.tags", "{{ plan.attributes.tags }}", Escape::None)
        .unwrap();
    assert_eq!(t.render_value(&l, &ctx()).unwrap(), json!(["x", "y"]));
    let s = t
        .compile("body.x", "id-{{plan.identity}}", Escape::None)
        .unwrap();
    assert_eq!(t.render_value(&s, &ctx()).unwrap(), json!("id-a/b c"));
}

#[test]
fn path_templates_percent_encode_values_only() {
    let mut t = Templates::new();
    let p = t
        .compile(
            "request.path",
            "/users/{{plan.identity}}/x y",
            Escape::PathSegment,
        )
        .unwrap();
    assert_eq!(t.render(&p, &ctx()).unwrap(), "/users/a%2Fb%20c/x y");
    let single = t
        .compile("request.path", "{{plan.identity}}", Escape::PathSegment)
        .unwrap();
    assert_eq!(t.render(&single, &ctx()).unwrap(), "a%2Fb%20c");
}

#[test]
fn missing_values_name_the_key() {
    let mut t = Templates::new();
    let a = t
        .compile("request.path", "/u/{{plan.nope}}/x", Escape::None)
        .unwrap();
    let e = t.render(&a, &ctx()).unwrap_err();
    assert!(e.message.contains("plan.nope"), "{e}");
    assert!(e.to_string().contains("request.path"), "{e}");
    let b = t.compile("q", "{{plan.nope}}", Escape::None).unwrap();
    assert!(
        t.render(&b, &ctx())
            .unwrap_err()
            .message
            .contains("plan.nope")
    );
}

#[test]
fn no_html_escaping_and_helpers_work() {
    let mut t = Templates::new();
    let c = ctx();
    let cases = [
        (
            "{{settings.base_url}}/a?b=<c>&d",
            "https://x.test/a?b=<c>&d",
        ),
        ("{{upper \"ab\"}}-{{lower \"CD\"}}", "AB-cd"),
        ("{{urlencode plan.identity}}", "a%2Fb%20c"),
        ("{{json plan.attributes.tags}}", "[\"x\",\"y\"]"),
        ("{{join plan.attributes.tags \",\"}}", "x,y"),
        ("{{base64 \"user:pass\"}}", "dXNlcjpwYXNz"),
        ("{{default settings.empty \"fallback\"}}", "fallback"),
        ("{{concat settings.n \"-\" plan.identity}}", "5-a/b c"),
        ("{{#if page.cursor}}c={{page.cursor}}{{/if}}", ""),
        (
            "{{#each plan.attributes.tags}}[{{this}}]{{/each}}",
            "[x][y]",
        ),
        ("{{#if (eq settings.n 5)}}five{{/if}}", "five"),
    ];
    for (i, (src, want)) in cases.iter().enumerate() {
        let tpl = t.compile(&format!("t{i}"), src, Escape::None).unwrap();
        assert_eq!(&t.render(&tpl, &c).unwrap(), want, "{src}");
    }
}

/// A value that is `..` (a plan identity, an id an API returned) used to vanish from the
/// path with the segment before it; `.` and empty values are refused the same way, and
/// values with `/`, `?` and `#` stay inside their segment.
#[test]
fn dot_and_empty_segments_from_values_are_refused() {
    let mut t = Templates::new();
    let p = t
        .compile(
            "operations.update_account.request.path",
            "/users/{{plan.identity}}/profile",
            Escape::PathSegment,
        )
        .unwrap();
    let single = t
        .compile("request.path", "{{plan.identity}}", Escape::PathSegment)
        .unwrap();
    for bad in ["..", ".", ""] {
        let ctx = json!({"plan": {"identity": bad}});
        for tmpl in [&p, &single] {
            let err = t.render(tmpl, &ctx).unwrap_err();
            assert!(err.message.contains("refused"), "{bad:?}: {err}");
            assert!(err.to_string().contains("{{plan.identity}}"), "{err}");
        }
    }
    let err = t
        .render(&p, &json!({"plan": {"identity": ".."}}))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("template `operations.update_account.request.path`"),
        "{err}"
    );
    for (ok, want) in [
        ("a/b", "/users/a%2Fb/profile"),
        ("?x", "/users/%3Fx/profile"),
        ("#y", "/users/%23y/profile"),
        ("...", "/users/.../profile"),
        ("%2e%2e", "/users/%252e%252e/profile"),
    ] {
        let got = t.render(&p, &json!({"plan": {"identity": ok}})).unwrap();
        assert_eq!(got, want);
        let url = url::Url::parse("https://h.test/api/")
            .unwrap()
            .join(got.trim_start_matches('/'))
            .unwrap();
        assert!(url.path().starts_with("/api/users/"), "{url}");
    }
    // A value inside a segment may be anything, even `.`.
    let ext = t
        .compile(
            "request.path",
            "/files/{{plan.identity}}.json",
            Escape::PathSegment,
        )
        .unwrap();
    assert_eq!(
        t.render(&ext, &json!({"plan": {"identity": "."}})).unwrap(),
        "/files/..json"
    );
    // The template's own text is the connector author's, not checked.
    let own = t
        .compile(
            "request.path",
            "/a/../b/{{plan.identity}}",
            Escape::PathSegment,
        )
        .unwrap();
    assert_eq!(
        t.render(&own, &json!({"plan": {"identity": "x"}})).unwrap(),
        "/a/../b/x"
    );
}

#[test]
fn string_and_date_helpers_behave_like_the_hook_library() {
    let mut t = Templates::new();
    let c = json!({
        "settings": { "orgs": "a, b,c", "since": "2024-05-01T12:00:00Z", "unix": 1714564800,
                      "word": "héllo wörld/?", "b64": "aMOpbGxv" }
    });
    let mut v = |src: &str| {
        let tpl = t.compile("body.x", src, Escape::None).unwrap();
        t.render_value(&tpl, &c)
    };
    assert_eq!(
        v("{{split settings.orgs ','}}").unwrap(),
        json!(["a", " b", "c"])
    );
    assert_eq!(v("{{len (split settings.orgs ',')}}").unwrap(), json!(3));
    assert_eq!(
        v("{{join (split settings.orgs ', ') '|'}}").unwrap(),
        json!("a|b,c")
    );
    assert_eq!(
        v("{{url_encode settings.word}}").unwrap(),
        json!("h%C3%A9llo%20w%C3%B6rld%2F%3F")
    );
    assert_eq!(
        v("{{url_decode (url_encode settings.word)}}").unwrap(),
        json!("héllo wörld/?")
    );
    assert_eq!(v("{{base64_decode settings.b64}}").unwrap(), json!("héllo"));
    assert_eq!(v("{{base64_encode 'héllo'}}").unwrap(), json!("aMOpbGxv"));
    assert_eq!(
        v("{{base64url_decode (base64url_encode settings.word)}}").unwrap(),
        json!("héllo wörld/?")
    );
    assert_eq!(
        v("{{sha256_hex 'abc'}}").unwrap(),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert_eq!(
        v("{{parse_date settings.since}}").unwrap(),
        json!(1714564800)
    );
    assert_eq!(
        v("{{parse_date '01/05/2024' '%d/%m/%Y'}}").unwrap(),
        json!(1714521600)
    );
    assert_eq!(
        v("{{format_date settings.unix '%Y-%m-%d'}}").unwrap(),
        json!("2024-05-01")
    );
    assert_eq!(
        v("{{format_date settings.since '%Y%m%d%H%M'}}").unwrap(),
        json!("202405011200")
    );
    assert_eq!(
        v("{{date_add settings.since '-7d'}}").unwrap(),
        json!("2024-04-24T12:00:00Z")
    );
    assert_eq!(
        v("{{date_add settings.unix 90}}").unwrap(),
        json!("2024-05-01T12:01:30Z")
    );
    assert_eq!(
        v("since={{format_date (date_add settings.since '1h') '%H:%M'}}").unwrap(),
        json!("since=13:00")
    );
    assert!(v("{{now_unix}}").unwrap().is_i64());
    assert!(v("{{now_iso}}").unwrap().as_str().unwrap().ends_with('Z'));
    let e = v("{{parse_date 'yesterday'}}").unwrap_err();
    assert!(
        e.message.contains("cannot read \"yesterday\" as a date"),
        "{e}"
    );
    let e = v("{{date_add settings.since 'soon'}}").unwrap_err();
    assert!(e.message.contains("not a duration"), "{e}");
    let e = v("{{split settings.orgs ''}}").unwrap_err();
    assert!(e.message.contains("separator is empty"), "{e}");
    let e = v("{{base64_decode '***'}}").unwrap_err();
    assert!(e.message.contains("not base64"), "{e}");
}
