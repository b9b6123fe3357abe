use std::collections::BTreeSet;

/// The contract and the router describe the same set of (method, path).
#[test]
fn openapi_paths_and_methods_are_the_routers() {
    let spec_text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the project root");
    let spec: serde_json::Value = serde_norway::from_str(&spec_text).expect("openapi.yaml parses");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let in_spec: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| methods.contains(&key.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();

    let in_router: BTreeSet<(String, String)> = cbm2::http::route_table()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path))
        .collect();

    let missing_from_spec: Vec<_> = in_router.difference(&in_spec).collect();
    let missing_from_router: Vec<_> = in_spec.difference(&in_router).collect();
    assert!(
        missing_from_spec.is_empty() && missing_from_router.is_empty(),
        "served but not in openapi.yaml: {missing_from_spec:?}; in openapi.yaml but not served: {missing_from_router:?}"
    );
}
