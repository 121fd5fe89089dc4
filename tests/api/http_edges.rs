//! HTTP edges: `Allow` on 405, HEAD on every GET resource.

use crate::helpers::*;

#[actix_rt::test]
async fn a_405_names_the_allowed_methods() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (reqwest::Method::PUT, "/messages", "GET, HEAD, POST"),
        (reqwest::Method::GET, "/messages/start", "POST"),
        (reqwest::Method::POST, "/health", "GET, HEAD"),
        (
            reqwest::Method::PATCH,
            "/messages/0b7c9f5e-3f64-4b8e-9a53-1c1f6f0f2a11",
            "GET, HEAD, DELETE",
        ),
    ] {
        let response = app
            .http
            .request(method.clone(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_error(response, 405, "method not allowed").await;
    }
}

#[actix_rt::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    for path in ["/health", "/metrics", "/messages", "/stats"] {
        let get = app.get(path).await;
        let head = app
            .http
            .head(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "{path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: no body");
    }
}
