//! Provisioning plans checked before anything is sent: located errors for what a plan gets
//! wrong (JSON syntax in a `.json` plan, misspelt keys, references to requests that do not
//! exist or come later, template syntax where plans have none, a password no template
//! reads, operations the connector does not define), and the pre-flight that renders every
//! request first. Each runs with `--dry-run` or against an unreachable URL: an attempt to
//! send would fail differently (exit 1, a transport error) than the exit 2 asserted here.

mod common;
use common::*;

use std::path::Path;
use std::process::Output;

/// `wsc provision CONNECTOR PLAN` with a plan file written to a scratch folder.
fn provision(connector: &str, dir: &Path, file: &str, plan: &str, extra: &[&str]) -> Output {
    let path = dir.join(file);
    std::fs::write(&path, plan).unwrap();
    let settings: &[&str] = match connector {
        "connectors/okta.yaml" => &[
            "--set",
            "org_url=http://127.0.0.1:9",
            "--set",
            "api_token=okta-test-token",
        ],
        _ => &[
            "--set",
            "base_url=http://127.0.0.1:9/scim/v2",
            "--set",
            "token=scim-test-token",
        ],
    };
    wsc()
        .args(["provision", connector])
        .arg(&path)
        .args(settings)
        .args(extra)
        .output()
        .unwrap()
}

fn refused(o: &Output, wants: &[&str]) {
    assert_eq!(code(o), 2, "{}", show(o));
    let err = text(&o.stderr);
    for w in wants {
        assert!(err.contains(w), "missing {w:?} in:\n{err}");
    }
    assert!(text(&o.stdout).is_empty(), "{}", show(o));
}

#[test]
fn plan_mistakes_are_located_before_anything_is_sent() {
    let dir = scratch("mistakes");
    let scim = "connectors/scim2.yaml";

    // A `.json` plan is JSON: a trailing comma is an error with its line.
    let o = provision(
        scim,
        &dir,
        "p.json",
        "{\n  \"operation\": \"delete_account\",\n  \"identity\": \"u1\",\n}\n",
        &[],
    );
    refused(&o, &["p.json:4", "JSON syntax error", "trailing comma"]);

    // The closest key is suggested.
    let o = provision(
        scim,
        &dir,
        "p.yaml",
        "operation: update_account\nidentity: u1\natributes: { title: X }\n",
        &[],
    );
    refused(&o, &["p.yaml:3", "`attributes`"]);

    // Template syntax in a plan value: plans have no templates but references.
    let o = provision(
        scim,
        &dir,
        "p.yaml",
        "operation: disable_account\nidentity: \"{{previous.identity}}\"\n",
        &[],
    );
    refused(
        &o,
        &[
            "p.yaml:2",
            "plan values are not templates",
            "requests.<name>.identity",
        ],
    );

    // References: unknown names (with a suggestion), and requests that run later.
    let o = provision(
        scim,
        &dir,
        "p.yaml",
        "- name: new\n  operation: create_account\n  attributes: { userName: a, email: a@x.test }\n- operation: disable_account\n  identity: \"{{requests.nwe.identity}}\"\n",
        &[],
    );
    refused(
        &o,
        &[
            "p.yaml:5",
            "no request is named `nwe`",
            "did you mean `new`?",
        ],
    );
    let o = provision(
        scim,
        &dir,
        "p.yaml",
        "- operation: disable_account\n  identity: \"{{requests.new.identity}}\"\n- name: new\n  operation: create_account\n  attributes: { userName: a, email: a@x.test }\n",
        &[],
    );
    refused(&o, &["p.yaml:2", "runs after this one"]);

    // A password that no template of the operation reads.
    let o = provision(
        scim,
        &dir,
        "p.yaml",
        "operation: delete_account\nidentity: u1\npassword: s3cret-Value\n",
        &[],
    );
    refused(&o, &["p.yaml:3", "does not use `plan.password`"]);
    assert!(!text(&o.stderr).contains("s3cret-Value"), "{}", show(&o));

    // Operations the connector does not define, custom ones included.
    let o = provision(
        "connectors/okta.yaml",
        &dir,
        "p.yaml",
        "operation: suspend_acount\nidentity: u1\n",
        &[],
    );
    refused(&o, &["p.yaml:1", "did you mean `suspend_account`?"]);
}

#[test]
fn preflight_renders_every_request_before_the_first_is_sent() {
    let dir = scratch("preflight");
    // Request 2 lacks `email`, which scim2's create_account body needs: exit 2 before
    // request 1 is sent (sending it to the closed port would be a transport error, exit 1).
    let plan = "- operation: disable_account\n  identity: u1\n- operation: create_account\n  attributes: { userName: b }\n";
    let o = provision("connectors/scim2.yaml", &dir, "p.yaml", plan, &[]);
    refused(
        &o,
        &[
            "request 2 of 2 (create_account) cannot be sent",
            "plan.attributes.email",
            "nothing was sent",
        ],
    );

    // A multi-valued change the operation does not say how to send.
    let plan =
        "operation: update_account\nidentity: u1\nattributes:\n  emails: { add: [a@x.test] }\n";
    let o = provision("connectors/okta.yaml", &dir, "p.yaml", plan, &[]);
    refused(
        &o,
        &[
            "does not say how to change the multi-valued attribute `emails`",
            "multi_valued",
        ],
    );

    // The same checks hold in a dry run.
    let plan = "- operation: disable_account\n  identity: u1\n- operation: create_account\n  attributes: { userName: b }\n";
    let o = provision(
        "connectors/scim2.yaml",
        &dir,
        "p.yaml",
        plan,
        &["--dry-run"],
    );
    assert_eq!(code(&o), 2, "{}", show(&o));
}

#[test]
fn dry_run_hides_whole_secret_values_only() {
    let dir = scratch("redaction");
    // A one-character token: hidden where it stands alone, never inside other words.
    let plan = "operation: update_account\nidentity: 00garwpuyxHaWOkdV0g4\nattributes: { email: jane.doe@example.com }\n";
    let path = dir.join("p.yaml");
    std::fs::write(&path, plan).unwrap();
    let o = wsc()
        .args(["provision", "connectors/okta.yaml"])
        .arg(&path)
        .args([
            "--set",
            "org_url=https://acme.okta.com",
            "--set",
            "api_token=x",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = text(&o.stdout);
    assert!(out.contains("/api/v1/users/00garwpuyxHaWOkdV0g4"), "{out}");
    assert!(out.contains("\"email\": \"jane.doe@example.com\""), "{out}");
    assert!(out.contains("authorization: SSWS <redacted>"), "{out}");
    assert!(out.contains("content-type: application/json"), "{out}");
    assert!(
        text(&o.stderr).contains("secret `api_token` is shorter than 4 characters"),
        "{}",
        show(&o)
    );
}
