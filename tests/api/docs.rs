//! The committed OpenAPI document matches the code, and the served one matches both.

use crate::helpers::*;

fn committed(name: &str) -> String {
    let path = format!("{}/swagger/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_committed_openapi_documents_match_the_code() {
    assert!(
        committed("openapi.json") == herald::http::docs::openapi_json(),
        "swagger/openapi.json is out of date: run `make openapi` and commit the result"
    );
    assert!(
        committed("openapi.yaml") == herald::http::docs::openapi_yaml(),
        "swagger/openapi.yaml is out of date: run `make openapi` and commit the result"
    );
}

async fn served(app: &TestApp) -> serde_json::Value {
    app.get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap()
}

#[actix_rt::test]
async fn with_a_token_the_served_document_is_the_committed_one() {
    let app = spawn_app_with(&[("API_TOKEN", "t0ken")]).await;
    let file: serde_json::Value = serde_json::from_str(&committed("openapi.json")).unwrap();
    assert_eq!(served(&app).await, file);
    assert_eq!(file["security"][0]["bearer"], serde_json::json!([]));
}

#[actix_rt::test]
async fn without_a_token_the_served_document_requires_no_auth() {
    let app = spawn_app().await;
    let mut file: serde_json::Value = serde_json::from_str(&committed("openapi.json")).unwrap();
    file.as_object_mut().unwrap().remove("security");
    for item in file["paths"].as_object_mut().unwrap().values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            op.as_object_mut().unwrap().remove("security");
        }
    }
    let served = served(&app).await;
    assert_eq!(
        served, file,
        "the committed document without security requirements"
    );
    assert!(
        !served.to_string().contains(r#""security""#),
        "no operation claims to need a token"
    );
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/swagger", "/swagger/", "/swagger-ui"] {
        let response = redirect
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 308, "{path}");
        assert_eq!(response.headers()["location"], "/swagger-ui/");
    }
}
