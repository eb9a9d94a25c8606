//! The typed baseline shared by the examples: what a tuned hand-written client does (serde
//! deserialises each page into typed structs whose strings borrow from the body, unused fields
//! skipped, and serialises each record straight into the output).

#![allow(dead_code)]

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct BPage<'a> {
    #[serde(borrow)]
    pub items: Vec<BUser<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct BUser<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub user_name: Cow<'a, str>,
    #[serde(borrow)]
    pub display_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Option<BName<'a>>,
    #[serde(borrow, default)]
    pub emails: Vec<BEmail<'a>>,
    pub active: Option<bool>,
    #[serde(borrow)]
    pub department: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub title: Option<Cow<'a, str>>,
    pub employee_number: Option<i64>,
    #[serde(borrow)]
    pub created: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub last_modified: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub groups: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BName<'a> {
    #[serde(borrow)]
    pub given_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub family_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
pub struct BEmail<'a> {
    #[serde(borrow)]
    pub value: Option<Cow<'a, str>>,
    pub primary: Option<bool>,
}

#[derive(Serialize)]
pub struct BOut<'a> {
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub identity: &'a str,
    pub name: &'a str,
    pub attributes: BAttrs<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BAttrs<'a> {
    pub display_name: Option<&'a str>,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub active: Option<bool>,
    pub department: Option<&'a str>,
    pub title: Option<&'a str>,
    pub employee_number: Option<i64>,
    pub groups: &'a [Cow<'a, str>],
}

/// Parses one page and appends its records as JSON Lines; returns the number of records.
pub fn baseline_page(body: &[u8], buf: &mut Vec<u8>) -> usize {
    let page: BPage<'_> = serde_json::from_slice(body).expect("baseline parse");
    for u in &page.items {
        let name = u.name.as_ref();
        let rec = BOut {
            ty: "account",
            identity: &u.id,
            name: &u.user_name,
            attributes: BAttrs {
                display_name: u.display_name.as_deref(),
                given_name: name.and_then(|n| n.given_name.as_deref()),
                family_name: name.and_then(|n| n.family_name.as_deref()),
                email: u.emails.first().and_then(|e| e.value.as_deref()),
                active: u.active,
                department: u.department.as_deref(),
                title: u.title.as_deref(),
                employee_number: u.employee_number,
                groups: &u.groups,
            },
        };
        serde_json::to_writer(&mut *buf, &rec).expect("baseline write");
        buf.push(b'\n');
    }
    page.items.len()
}
