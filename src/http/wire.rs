//! The HTTP listener. actix-web's `HttpServer`, built by hand so that every connection passes
//! through [`ShapedErrors`]: the few answers the HTTP/1 parser writes on its own, before any
//! route runs (431 for a request head over 128 KiB or 96 headers, 400 for a request it cannot
//! parse), leave in the API's `{"error","status":"error"}` shape like every other error.

use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Request, Response, body::MessageBody};
use actix_rt::net::TcpStream;
use actix_server::Server;
use actix_service::{
    IntoServiceFactory, ServiceFactory, ServiceFactoryExt, fn_service, map_config,
};
use actix_web::dev::AppConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The answers the parser writes itself, with what our body says for each.
const PARSER_ANSWERS: [(&[u8], &str, &str); 2] = [
    (
        b"HTTP/1.1 431 ",
        "431 Request Header Fields Too Large",
        "request head too large: at most 96 headers and 128 KiB",
    ),
    (
        b"HTTP/1.1 400 ",
        "400 Bad Request",
        "malformed HTTP request",
    ),
];

/// A parser answer has no body: its head ends the write with `content-length: 0`.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    if !written.ends_with(b"\r\n\r\n") || written.len() > 512 {
        return None;
    }
    let head = String::from_utf8_lossy(written).to_ascii_lowercase();
    if !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let (_, status, error) = PARSER_ANSWERS
        .iter()
        .find(|(prefix, _, _)| written.starts_with(prefix))?;
    let body = serde_json::json!({"error": error, "status": "error"}).to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// A connection whose parser-made error answers are rewritten (see [`replacement`]); every
/// other byte passes through untouched.
pub struct ShapedErrors<T> {
    io: T,
    pending: Vec<u8>,
}

impl<T: AsyncWrite + Unpin> ShapedErrors<T> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ShapedErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ShapedErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(answer) = replacement(buf) {
            self.pending = answer;
            // Written or not yet, it is ours now; flush and shutdown finish it.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves the app that `factory` builds on `listener` (HTTP/1.1), one worker per core, without
/// signal handling (the application owns shutdown).
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    factory: F,
    shutdown_timeout: Duration,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    B: MessageBody + 'static,
{
    listener.set_nonblocking(true)?;
    Ok(Server::build()
        .listen("herald-http", listener, move || {
            let app = factory()
                .into_factory()
                .map_err(|err| err.into().error_response());
            let http = HttpService::<ShapedErrors<TcpStream>, _, _>::build()
                .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                .client_request_timeout(Duration::from_secs(5))
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(|io: TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, actix_http::error::DispatchError>((
                    ShapedErrors {
                        io,
                        pending: Vec::new(),
                    },
                    peer,
                ))
            })
            .and_then(http)
        })?
        .shutdown_timeout(shutdown_timeout.as_secs().max(1))
        .disable_signals()
        .run())
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn the_parsers_bodiless_answers_get_the_error_shape_and_nothing_else_changes() {
        let made = replacement(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n",
        )
        .expect("a 431 is rewritten");
        let text = String::from_utf8(made).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(text.ends_with(r#"{"error":"request head too large: at most 96 headers and 128 KiB","status":"error"}"#), "{text}");
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").is_some());
        // Our own answers carry a body and are left alone.
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 40\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
