//! Pages shaped like the synthetic API's `/users/offset` responses, shared by the examples.

#![allow(dead_code)]

pub const PAGE: usize = 250;
pub const DISTINCT_PAGES: usize = 8;

const GIVEN: &[&str] = &[
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Donald", "Edsger", "Hedy",
];
const FAMILY: &[&str] = &[
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Knuth", "Lamarr",
];
const DEPTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Finance",
    "Legal",
    "Support",
    "Marketing",
];
const TITLES: &[&str] = &["Engineer", "Manager", "Analyst", "Director", "Specialist"];

/// One page as the synthetic API writes it (`/users/offset`).
pub fn page(first: usize) -> Vec<u8> {
    let mut b = String::with_capacity(PAGE * 520);
    b.push_str("{\"total\":1000000,\"items\":[");
    for i in first..first + PAGE {
        if i > first {
            b.push(',');
        }
        let (g, f) = (GIVEN[i % GIVEN.len()], FAMILY[(i / 7) % FAMILY.len()]);
        let user = format!("{}.{}{}", g.to_lowercase(), f.to_lowercase(), i);
        let groups: Vec<String> = (0..(i % 5))
            .map(|k| format!("\"g{:05}\"", (i * 31 + k * 17) % 5000))
            .collect();
        b.push_str(&format!(
            concat!(
                "{{\"id\":\"u{:07}\",\"userName\":\"{}\",\"displayName\":\"{} {}\",",
                "\"name\":{{\"givenName\":\"{}\",\"familyName\":\"{}\"}},",
                "\"emails\":[{{\"value\":\"{}@example.com\",\"primary\":true}}],",
                "\"active\":{},\"department\":\"{}\",\"title\":\"{}\",\"employeeNumber\":{},",
                "\"created\":\"2019-03-04T05:06:07Z\",\"lastModified\":\"2023-11-14T22:13:20Z\",",
                "\"groups\":[{}]}}"
            ),
            i,
            user,
            g,
            f,
            g,
            f,
            user,
            i % 11 != 0,
            DEPTS[i % DEPTS.len()],
            TITLES[i % TITLES.len()],
            100_000 + i,
            groups.join(",")
        ));
    }
    b.push_str("]}");
    b.into_bytes()
}

/// A template compiler for mappings without templates.
pub struct NoTemplates;
impl wsc_engine::mapping::TemplateCompiler for NoTemplates {
    fn compile(&self, _: &str) -> Result<Box<dyn wsc_engine::mapping::RecordTemplate>, String> {
        Err("templates are not used by these benchmarks".into())
    }
}

/// The `account_aggregation` mapping of `connectors/demo.yaml` (or of `WSC_DEMO_YAML`).
pub fn demo_mapper() -> wsc_engine::mapping::RecordMapper {
    let demo = std::env::var_os("WSC_DEMO_YAML").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../connectors/demo.yaml"),
        Into::into,
    );
    let loaded = wsc_spec::load_file(&demo).expect("connectors/demo.yaml loads");
    let op = loaded
        .connector
        .operations
        .account_aggregation
        .expect("demo.yaml has account_aggregation");
    wsc_engine::mapping::RecordMapper::new("account", &op, &NoTemplates).expect("mapper")
}
