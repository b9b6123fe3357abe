//! The contract over HTTP: `/openapi.yaml` and the `/docs` page, with its vendored viewer.
//! Neither touches the database: SQLite only.

use cbm2::http::limits::{Rate, RateLimits};

use crate::helpers::{TestApp, TestDb, spawn_app, spawn_app_with};

/// GET `path` without a token: status, headers and the body as text.
async fn fetch(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("a text body"))
}

/// The `src` of the page's only script.
fn script_src(page: &str) -> String {
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 1, "one script: {page}");
    let src = scripts[0]
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the script has a src: {page}"));
    format!("/{src}")
}

#[tokio::test]
async fn openapi_yaml_is_the_contract_file_byte_for_byte_to_anyone() {
    let app = spawn_app(TestDb::sqlite()).await;

    let (status, headers, body) = fetch(&app, "/openapi.yaml").await;

    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/yaml");
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the project root");
    assert!(
        body == file,
        "the served contract differs from openapi.yaml"
    );
}

#[tokio::test]
async fn the_docs_page_renders_the_contract_with_the_vendored_viewer_under_a_strict_policy() {
    let app = spawn_app(TestDb::sqlite()).await;

    let (status, headers, page) = fetch(&app, "/docs").await;

    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        page.contains(r#"<redoc spec-url="openapi.yaml">"#),
        "{page}"
    );
    assert_eq!(script_src(&page), "/docs/assets/redoc-2.5.2.standalone.js");
    // No inline script, nothing from elsewhere.
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        !page.contains("//"),
        "the page names no other origin: {page}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(
        !csp.split(';')
            .any(|d| d.trim().starts_with("script-src") && d.contains("unsafe-inline")),
        "{csp}"
    );
}

#[tokio::test]
async fn the_viewer_is_javascript_cached_for_a_year_and_the_npm_package_file() {
    let app = spawn_app(TestDb::sqlite()).await;
    let (_, _, page) = fetch(&app, "/docs").await;

    let (status, headers, script) = fetch(&app, &script_src(&page)).await;

    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(cache.contains("max-age=31536000"), "{cache}");
    assert!(cache.contains("immutable"), "{cache}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let vendored = include_str!("../../src/http/assets/redoc-2.5.2.standalone.js");
    assert!(
        script == vendored,
        "the served viewer differs from the vendored file"
    );
    // What the page and the contract answer may still change: they are not cached.
    for path in ["/docs", "/openapi.yaml"] {
        let (_, headers, _) = fetch(&app, path).await;
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn the_contract_and_its_page_are_never_rate_limited() {
    let app = spawn_app_with(TestDb::sqlite(), |settings| {
        let one = Rate::new(1, 1).unwrap();
        settings.http.rate_limits = Some(RateLimits {
            writes: one,
            reads: one,
            unauthenticated: one,
        });
    })
    .await;

    for path in ["/docs", "/openapi.yaml", "/docs", "/openapi.yaml", "/docs"] {
        let (status, _, _) = fetch(&app, path).await;
        assert_eq!(status, 200, "{path}");
    }
    // The limit is real: requests without a token to the API are limited after one.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, _, _) = fetch(&app, "/v1/member-states").await;
        statuses.push(status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}
