//! `API_TOKEN`: required for the API, not for health, metrics or the docs.

use serde_json::json;

use crate::helpers::*;

#[actix_rt::test]
async fn the_api_requires_the_token_when_one_is_set() {
    let app = spawn_app_with(&[("API_TOKEN", "s3cret-token")]).await;
    let before = app.db.snapshot();
    let body = json!({"recipient": "+905551111111", "content": "hi"});

    assert_error(app.get("/messages").await, 401, "bearer token").await;
    assert_error(app.post_json("/messages", &body).await, 401, "bearer token").await;
    assert_error(app.post("/messages/stop").await, 401, "bearer token").await;
    assert_error(app.get("/stats").await, 401, "bearer token").await;
    for wrong in [
        "Bearer s3cret-tokeN",
        "Bearer s3cret-token-and-more",
        "Basic s3cret-token",
        "s3cret-token",
    ] {
        let response = app
            .http
            .get(format!("{}/messages", app.address))
            .header("Authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_error(response, 401, "bearer token").await;
    }
    assert_eq!(app.db.snapshot(), before, "refused requests change nothing");

    let authed = |req: reqwest::RequestBuilder| req.bearer_auth("s3cret-token").send();
    let ok = authed(app.http.get(format!("{}/messages", app.address)))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let created = authed(
        app.http
            .post(format!("{}/messages", app.address))
            .json(&body),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);

    for open in [
        "/health",
        "/metrics",
        "/swagger-ui/",
        "/api-docs/openapi.json",
    ] {
        assert_eq!(app.get(open).await.status(), 200, "{open} is open");
    }
}

#[actix_rt::test]
async fn without_a_token_configured_the_api_is_open() {
    let app = spawn_app().await;
    assert_eq!(app.get("/messages").await.status(), 200);
    assert_eq!(app.get("/stats").await.status(), 200);
}
