//! The dashboard at `/`: one page, its script and its stylesheet, embedded in the binary at
//! compile time (nothing to build, fetch or host). The page is public; the data it shows comes
//! from the API, with the token the user enters when `API_TOKEN` is set.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use super::{open, read};

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/dashboard.js");
const ROUTING: &str = include_str!("assets/routing.js");
const REPLAY: &str = include_str!("assets/replay.js");
const RULES: &str = include_str!("assets/rules.js");
const SOURCES: &str = include_str!("assets/sources.js");
const STYLE: &str = include_str!("assets/dashboard.css");

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        // A new binary can change the assets: always revalidate.
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open(
        web::resource(["/", "/index.html"])
            .route(read().to(|| async { asset(PAGE, "text/html; charset=utf-8") })),
        "GET, HEAD",
    ))
    .service(open(
        web::resource("/assets/dashboard.js")
            .route(read().to(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") })),
        "GET, HEAD",
    ))
    .service(open(
        web::resource("/assets/routing.js")
            .route(read().to(|| async { asset(ROUTING, "text/javascript; charset=utf-8") })),
        "GET, HEAD",
    ))
    .service(open(
        web::resource("/assets/replay.js")
            .route(read().to(|| async { asset(REPLAY, "text/javascript; charset=utf-8") })),
        "GET, HEAD",
    ))
    .service(open(
        web::resource("/assets/rules.js")
            .route(read().to(|| async { asset(RULES, "text/javascript; charset=utf-8") })),
        "GET, HEAD",
    ))
    .service(open(
        web::resource("/assets/sources.js")
            .route(read().to(|| async { asset(SOURCES, "text/javascript; charset=utf-8") })),
        "GET, HEAD",
    ))
    .service(open(
        web::resource("/assets/dashboard.css")
            .route(read().to(|| async { asset(STYLE, "text/css; charset=utf-8") })),
        "GET, HEAD",
    ));
}
