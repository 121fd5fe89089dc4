#!/usr/bin/env python3
"""Hand-made bad requests against a running Herald: each must get its documented status in the
{"error","status":"error"} shape, and the stored data must not change.

Usage: bad_requests.py BASE_URL DATABASE_URL   (stdlib only)
"""
import hashlib
import http.client
import json
import subprocess
import sys
import urllib.parse

BASE, DATABASE_URL = sys.argv[1], sys.argv[2]
HOST = urllib.parse.urlparse(BASE)
ID = "0b7c9f5e-3f64-4b8e-9a53-1c1f6f0f2a11"

DIGEST_SQL = """SELECT md5(coalesce((SELECT string_agg(m::text, '|' ORDER BY id) FROM deliveries m), '')
  || coalesce((SELECT string_agg(e::text, '|' ORDER BY id) FROM events e), '')
  || coalesce((SELECT string_agg(p::text, '|' ORDER BY id) FROM endpoints p), '')
  || coalesce((SELECT string_agg(a::text, '|' ORDER BY id) FROM delivery_attempts a), '')
  || coalesce((SELECT string_agg(r::text, '|' ORDER BY id) FROM rules r), '')
  || coalesce((SELECT string_agg(x::text, '|' ORDER BY id) FROM reminders x), '')
  || coalesce((SELECT string_agg(s::text, '|' ORDER BY id) FROM sources s), '')
  || (SELECT active::text FROM dispatch_state))"""


def digest():
    out = subprocess.run(["psql", DATABASE_URL, "-qtAc", DIGEST_SQL], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def send(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        try:
            conn.endheaders(body)
        except OSError:
            # A server refusing an oversized body answers and closes before reading it all;
            # the answer may already be here even though the rest of the upload failed.
            pass
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except (http.client.HTTPException, OSError) as e:
        return None, {}, str(e).encode()
    finally:
        conn.close()


JSON = {"Content-Type": "application/json"}


def create(body_text, path="/messages"):
    return ("POST", path, body_text.encode() if isinstance(body_text, str) else body_text, JSON)


def event(body_text):
    return create(body_text, "/events")


def endpoint(body_text):
    return create(body_text, "/endpoints")


def rule(field):
    """A valid rule but for `field` (a JSON member), which replaces the base's."""
    body = {"name": "r", "event_type": "user.set", "subject": "$.id", "target": "$.at",
            "offsets": ["-1d"], "endpoint": "default"}
    body.update(json.loads("{" + field + "}"))
    return create(json.dumps(body), "/rules")


def source(field):
    """A valid source but for `field` (a JSON member), which replaces the base's."""
    body = {"name": "s", "kind": "redis_stream", "url": "redis://127.0.0.1:6379",
            "stream": "fuzz", "type": "$.type"}
    body.update(json.loads("{" + field + "}"))
    return create(json.dumps(body), "/sources")


CASES = [
    # (name, (method, path, body, headers), expected status)
    ("NUL in content", create('{"recipient":"+905551111111","content":"a\\u0000b"}'), 400),
    ("NUL in recipient", create('{"recipient":"+90555\\u00001111111","content":"hi"}'), 400),
    ("escape sequence in content", create('{"recipient":"+905551111111","content":"\\u001b[31mred"}'), 400),
    ("zero-width spaces only", create('{"recipient":"+905551111111","content":"\\u200b\\u200b"}'), 400),
    ("lone surrogate", create('{"recipient":"+905551111111","content":"\\ud800"}'), 400),
    ("invalid UTF-8", create(b'{"recipient":"+905551111111","content":"\xff\xfe"}'), 400),
    ("deep nesting", create("[" * 10000 + "]" * 10000), 400),
    ("JSON array body", create("[]"), 400),
    ("unknown field", create('{"recipient":"+905551111111","content":"hi","admin":true}'), 400),
    ("content over the limit", create('{"recipient":"+905551111111","content":"%s"}' % ("x" * 161)), 400),
    ("send_at not a time", create('{"recipient":"+905551111111","content":"hi","send_at":"tomorrow"}'), 400),
    ("SQL in recipient", create('{"recipient":"+90\'; DROP TABLE messages; --","content":"hi"}'), 400),
    ("huge number as recipient", create('{"recipient":1e999,"content":"hi"}'), 400),
    ("empty body", ("POST", "/messages", b"", JSON), 400),
    ("empty batch", ("POST", "/messages/batch", b'{"messages":[]}', JSON), 400),
    ("batch with a NUL in item 2", ("POST", "/messages/batch", b'{"messages":[{"recipient":"+905551111111","content":"a"},{"recipient":"+905551111111","content":"b"},{"recipient":"+905551111111","content":"c\\u0000"}]}', JSON), 400),
    ("batch of 1,001", ("POST", "/messages/batch", ('{"messages":[%s]}' % ",".join(['{"recipient":"+905551111111","content":"x"}'] * 1001)).encode(), JSON), 400),
    ("batch over 1 MiB", ("POST", "/messages/batch", ('{"messages":[%s]}' % ",".join(['{"recipient":"+905551111111","content":"%s"}' % ("x" * 1100)] * 1000)).encode(), JSON), 413),
    ("wrong content type", ("POST", "/messages", b'{"recipient":"+905551111111","content":"hi"}', {"Content-Type": "text/plain"}), 415),
    ("1 MB body", create('{"recipient":"+905551111111","content":"%s"}' % ("x" * 1_000_000)), 413),
    ("1 MB header line", ("GET", "/messages", None, {"X-Long": "x" * 1_000_000}), 431),
    ("Idempotency-Key with SQL and spaces", ("POST", "/messages", b'{"recipient":"+905551111111","content":"hi"}', {**JSON, "Idempotency-Key": "' OR 1=1 --"}), 400),
    ("limit far too large", ("GET", "/messages?limit=99999999999999999999", None, {}), 400),
    ("negative offset", ("GET", "/messages?offset=-1", None, {}), 400),
    ("negative limit", ("GET", "/messages?limit=-5", None, {}), 400),
    ("SQL in status filter", ("GET", "/messages?status=%27%20OR%201%3D1%20--", None, {}), 400),
    ("SQL in id", ("GET", "/messages/1'%20OR%20'1'='1", None, {}), 400),
    ("path traversal in id", ("GET", "/messages/..%2F..%2Fetc%2Fpasswd", None, {}), 400),
    ("dot-dot id", ("GET", "/messages/..", None, {}), 400),
    ("traversal in retry id", ("POST", "/messages/..%2Fstart/retry", None, {}), 400),
    ("unknown id", ("GET", "/messages/" + ID, None, {}), 404),
    ("unknown route", ("GET", "/admin", None, {}), 404),
    ("history window too long", ("GET", "/stats/history?window=25h", None, {}), 400),
    ("history bucket too small", ("GET", "/stats/history?bucket=100ms", None, {}), 400),
    ("history too many buckets", ("GET", "/stats/history?window=24h&bucket=1s", None, {}), 400),
    ("history window not a duration", ("GET", "/stats/history?window=yesterday", None, {}), 400),
    ("history negative bucket", ("GET", "/stats/history?bucket=-10s", None, {}), 400),
    ("event: payload not an object", event('{"type":"t","payload":[1]}'), 400),
    ("event: type with a space", event('{"type":"a b","payload":{}}'), 400),
    ("event: type of 129 characters", event('{"type":"%s","payload":{}}' % ("a" * 129)), 400),
    ("event: 11 channels", event('{"type":"t","payload":{},"channels":[%s]}' % ",".join('"c%d"' % i for i in range(11))), 400),
    ("event: unknown field", event('{"type":"t","payload":{},"typo":1}'), 400),
    ("event: NUL in type", event('{"type":"a\\u0000","payload":{}}'), 400),
    ("event: payload over 256 KiB", event('{"type":"t","payload":{"x":"%s"}}' % ("x" * 262_200)), 400),
    ("event: body over 272 KiB", event('{"type":"t","payload":{"x":"%s"}}' % ("x" * 300_000)), 413),
    ("event: deep nesting", event('{"type":"t","payload":%s}' % ('{"a":' * 200 + "1" + "}" * 200)), 400),
    ("event batch of 1,001", ("POST", "/events/batch", ('{"events":[%s]}' % ",".join(['{"type":"t","payload":{}}'] * 1001)).encode(), JSON), 400),
    ("events: unknown status", ("GET", "/events?status=%27%20OR%201%3D1", None, {}), 400),
    ("events: unknown parameter", ("GET", "/events?order=id", None, {}), 400),
    ("event: SQL in id", ("GET", "/events/1'%20OR%20'1'='1", None, {}), 400),
    ("event: unknown id", ("GET", "/events/" + ID, None, {}), 404),
    ("endpoint: unknown field", endpoint('{"name":"x","url":"https://8.8.8.8/","filtr":{}}'), 400),
    ("endpoint: loopback URL", endpoint('{"name":"x","url":"http://127.0.0.1:8080/"}'), 400),
    ("endpoint: metadata URL", endpoint('{"name":"x","url":"http://169.254.169.254/latest/meta-data/"}'), 400),
    ("endpoint: IPv6 loopback", endpoint('{"name":"x","url":"http://[::1]/"}'), 400),
    ("endpoint: IPv4-mapped loopback", endpoint('{"name":"x","url":"http://[::ffff:127.0.0.1]/"}'), 400),
    ("endpoint: decimal loopback", endpoint('{"name":"x","url":"http://2130706433/"}'), 400),
    ("endpoint: localhost", endpoint('{"name":"x","url":"http://localhost/"}'), 400),
    ("endpoint: file URL", endpoint('{"name":"x","url":"file:///etc/passwd"}'), 400),
    ("endpoint: user-info", endpoint('{"name":"x","url":"https://a:b@8.8.8.8/"}'), 400),
    ("endpoint: empty event_types", endpoint('{"name":"x","url":"https://8.8.8.8/","event_types":[]}'), 400),
    ("endpoint: bad op", endpoint('{"name":"x","url":"https://8.8.8.8/","filter":{"path":"$.a","op":"eqq","value":1}}'), 400),
    ("endpoint: non-singular path", endpoint('{"name":"x","url":"https://8.8.8.8/","filter":{"path":"$..a","op":"exists"}}'), 400),
    ("endpoint: filter too deep", endpoint('{"name":"x","url":"https://8.8.8.8/","filter":%s}' % ('{"not":' * 9 + '{"path":"$.a","op":"exists"}' + "}" * 9)), 400),
    ("endpoint: catastrophic regex", endpoint('{"name":"x","url":"https://8.8.8.8/","filter":{"path":"$.a","op":"regex","value":"(a{1000}){1000}"}}'), 400),
    ("endpoint: template does not parse", endpoint('{"name":"x","url":"https://8.8.8.8/","template":{"kind":"text","body":"{{ x"}}'), 400),
    ("endpoint: template include", endpoint('{"name":"x","url":"https://8.8.8.8/","template":{"kind":"text","body":"{%% include \'/etc/passwd\' %%}"}}'), 400),
    ("endpoint: reserved header", endpoint('{"name":"x","url":"https://8.8.8.8/","headers":{"Host":"evil"}}'), 400),
    ("endpoint: header with CRLF", endpoint('{"name":"x","url":"https://8.8.8.8/","headers":{"x-a":"b\\r\\nx-b: c"}}'), 400),
    ("endpoint: bad name", endpoint('{"name":"../x","url":"https://8.8.8.8/"}'), 400),
    ("endpoint: unknown name", ("GET", "/endpoints/nobody", None, {}), 404),
    ("endpoint: delete default", ("DELETE", "/endpoints/default", None, {}), 409),
    ("endpoint test: payload not an object", ("POST", "/endpoints/default/test", b'{"type":"t","payload":1}', JSON), 400),
    ("rule: unknown time zone", rule('"timezone":"Mars/Olympus"'), 400),
    ("rule: quiet hours not HH:MM", rule('"quiet_hours":{"start":"10pm","end":"08:00"}'), 400),
    ("rule: 11 offsets", rule('"offsets":["1d","2d","3d","4d","5d","6d","7d","8d","9d","10d","11d"]'), 400),
    ("rule: offset does not parse", rule('"offsets":["soon"]'), 400),
    ("rule: offset over 365 days", rule('"offsets":["-366d"]'), 400),
    ("rule: target not singular", rule('"target":"$.dates[*]"'), 400),
    ("rule: subject not singular", rule('"subject":"$..id"'), 400),
    ("rule: cancel_on is event_type", rule('"cancel_on":["user.set"]'), 400),
    ("rule: unknown field", rule('"offset":"-1d"'), 400),
    ("rule: unknown endpoint", rule('"endpoint":"nobody"'), 404),
    ("source: unknown kind", source('"kind":"kafka"'), 400),
    ("source: URL of the wrong scheme", source('"url":"http://127.0.0.1:6379"'), 400),
    ("source: subject on Redis", source('"subject":"orders.>"'), 400),
    ("source: type path not singular", source('"type":"$..type"'), 400),
    ("source: start not a time", source('"start":"yesterday"'), 400),
    ("source: NUL in stream", source('"stream":"a\\u0000b"'), 400),
    ("source: NATS stream with a dot", source('"kind":"nats_jetstream","url":"nats://127.0.0.1:4222","stream":"a.b"'), 400),
    ("source: unknown field", source('"partition":1'), 400),
    ("source: unknown id", ("GET", "/sources/" + ID, None, {}), 404),
    ("rule: unknown rule", ("GET", "/rules/nobody", None, {}), 404),
    ("rule preview: unknown rule", ("POST", "/rules/nobody/preview", b'{"payload":{}}', JSON), 404),
]

# Every method on every path: the ones a path does not have answer 405 with Allow.
PATHS = {
    "/messages": {"GET", "HEAD", "POST"},
    "/messages/batch": {"POST"},
    "/messages/start": {"POST"},
    "/messages/stop": {"POST"},
    "/messages/" + ID: {"GET", "HEAD", "DELETE"},
    "/messages/" + ID + "/retry": {"POST"},
    "/stats": {"GET", "HEAD"},
    "/stats/history": {"GET", "HEAD"},
    "/health": {"GET", "HEAD"},
    "/metrics": {"GET", "HEAD"},
    "/events": {"GET", "HEAD", "POST"},
    "/events/batch": {"POST"},
    "/events/" + ID: {"GET", "HEAD", "DELETE"},
    "/events/" + ID + "/retry": {"POST"},
    "/events/" + ID + "/deliveries/" + ID: {"DELETE"},
    "/events/" + ID + "/deliveries/" + ID + "/retry": {"POST"},
    "/endpoints": {"GET", "HEAD", "POST"},
    "/endpoints/default": {"GET", "HEAD", "PATCH", "DELETE"},
    "/endpoints/default/secret": {"GET", "HEAD"},
    "/endpoints/default/enable": {"POST"},
    "/endpoints/default/disable": {"POST"},
    "/endpoints/default/test": {"POST"},
    "/rules": {"GET", "HEAD", "POST"},
    "/rules/" + ID: {"GET", "HEAD", "PATCH", "DELETE"},
    "/rules/" + ID + "/preview": {"POST"},
    "/rules/" + ID + "/reminders": {"GET", "HEAD"},
}
for path, allowed in PATHS.items():
    for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]:
        if method not in allowed:
            CASES.append((f"{method} {path.replace(ID, '{id}')}", (method, path, None, {}), 405))


def shaped(status, headers, raw, method):
    if method == "HEAD":
        return True
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    if set(body) != {"error", "status"} or body["status"] != "error" or not body["error"]:
        return False
    return status != 405 or "allow" in {k.lower() for k in headers}


def main():
    before = digest()
    failures = 0
    print(f"{'case':45} {'want':>4} {'got':>4}  shape  data")
    for name, (method, path, body, headers), want in CASES:
        # A connection reset while a refused upload was still being sent can eat the answer;
        # that is the transport, not the API: ask again (at most 3 times).
        for _ in range(3):
            status, got_headers, raw = send(method, path, body, headers)
            if status is not None:
                break
        ok_shape = status is not None and shaped(status, got_headers, raw, method)
        unchanged = digest() == before
        ok = status == want and ok_shape and unchanged
        failures += not ok
        print(f"{name:45} {want:>4} {str(status):>4}  {'ok' if ok_shape else 'BAD':5}  {'same' if unchanged else 'CHANGED'}{'' if ok else '  <-- FAIL'}")
    print(f"{len(CASES) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


main()
