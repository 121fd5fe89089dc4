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

/// Sends raw bytes and returns the whole answer as text.
fn raw_exchange(address: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let host = address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn body_of(answer: &str) -> serde_json::Value {
    let (_, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body ({e}): {answer}"))
}

#[actix_rt::test]
async fn the_http_parsers_own_errors_use_the_error_shape() {
    let app = spawn_app().await;
    let huge = format!(
        "GET /messages HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let answer = raw_exchange(&app.address, huge.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    let body = body_of(&answer);
    assert_eq!(body["status"], "error");
    assert!(
        body["error"].as_str().unwrap().contains("too large"),
        "{body}"
    );

    let many: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let answer = raw_exchange(
        &app.address,
        format!("GET /messages HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert_eq!(body_of(&answer)["status"], "error");

    let answer = raw_exchange(&app.address, b"BAD REQUEST LINE\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(body_of(&answer)["error"], "malformed HTTP request");

    // A normal request on the same server is unchanged.
    let ok = raw_exchange(
        &app.address,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(ok.starts_with("HTTP/1.1 200 "), "{ok}");
}
