//! Outbound requests over `wasi:http`, as a plugin that ignores every rule would send them.

use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

/// What an exchange sends as its body.
pub enum Payload<'a> {
    /// These bytes (nothing when empty).
    Bytes(&'a [u8]),
    /// `prefix`, then `x` until `total` bytes were written, in chunks as the stream accepts
    /// them: a body far larger than anything the guest holds.
    Stream { prefix: &'a [u8], total: u64 },
}

/// An answer: status, body as text, and every header the guest was shown.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// For a streamed body: how many bytes the host accepted before it closed the stream.
    pub written: u64,
}

impl Reply {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// GET `scheme://authority/path` with extra headers; returns status and body, or the error.
pub fn get(
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String), String> {
    get_full(scheme, authority, path, headers).map(|(s, b, _)| (s, b))
}

/// Like `get`, also returning the `Location` header.
pub fn get_full(
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String, Option<String>), String> {
    send(Method::Get, scheme, authority, path, headers, b"")
}

/// Any method, with a body; status, body and `Location`, or the error.
pub fn send(
    method: Method,
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
) -> Result<(u16, String, Option<String>), String> {
    exchange(
        method,
        scheme,
        authority,
        path,
        headers,
        Payload::Bytes(payload),
    )
    .map(|r| {
        let location = r.header("location").map(str::to_string);
        (r.status, r.body, location)
    })
}

/// A form POST to `https://authority/path`: the status, or the error.
pub fn post_form(authority: &str, path: &str, form: &str) -> Result<u16, String> {
    send(
        Method::Post,
        Scheme::Https,
        authority,
        path,
        &[("content-type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
    .map(|(s, _, _)| s)
}

/// A JSON POST to `https://authority/path`: the status, or the error.
pub fn post_json(authority: &str, path: &str, json: &str) -> Result<u16, String> {
    send(
        Method::Post,
        Scheme::Https,
        authority,
        path,
        &[("content-type", "application/json")],
        json.as_bytes(),
    )
    .map(|(s, _, _)| s)
}

/// A GET over HTTPS: the body of a success, or why not.
pub fn read(authority: &str, path: &str) -> Result<String, String> {
    match get(Scheme::Https, authority, path, &[])? {
        (200, body) => Ok(body),
        (status, body) => Err(format!("{status}: {body}")),
    }
}

/// Start `n` GETs of `https://authority/path` at once, before waiting for any, ignoring every
/// limit a well-behaved plugin would keep; then the status of each (or why it failed).
pub fn burst(authority: &str, path: &str, n: usize) -> Vec<Result<u16, String>> {
    let mut started = Vec::with_capacity(n);
    for _ in 0..n {
        let req = OutgoingRequest::new(Fields::new());
        let set = req.set_scheme(Some(&Scheme::Https)).is_ok()
            && req.set_authority(Some(authority)).is_ok()
            && req.set_path_with_query(Some(path)).is_ok();
        if !set {
            started.push(Err("request refused".to_string()));
            continue;
        }
        let body = req.body().map_err(|_| "body".to_string());
        match wasip2::http::outgoing_handler::handle(req, None) {
            Ok(fut) => {
                if let Ok(body) = body {
                    let _ = OutgoingBody::finish(body, None);
                }
                started.push(Ok(fut));
            }
            Err(e) => started.push(Err(format!("{e:?}"))),
        }
    }
    started
        .into_iter()
        .map(|fut| Ok(answer(fut?)?.status()))
        .collect()
}

/// Wait for an answer.
fn answer(
    fut: wasip2::http::types::FutureIncomingResponse,
) -> Result<wasip2::http::types::IncomingResponse, String> {
    fut.subscribe().block();
    fut.get()
        .ok_or("not ready")?
        .map_err(|_| "taken")?
        .map_err(|e| format!("{e:?}"))
}

/// Send one request and read the whole answer.
pub fn exchange(
    method: Method,
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: Payload<'_>,
) -> Result<Reply, String> {
    let fields = Fields::new();
    for (k, v) in headers {
        fields
            .append(k, v.as_bytes())
            .map_err(|e| format!("header {k} refused: {e:?}"))?;
    }
    let req = OutgoingRequest::new(fields);
    req.set_method(&method).map_err(|_| "method".to_string())?;
    req.set_scheme(Some(&scheme))
        .map_err(|_| "scheme".to_string())?;
    req.set_authority(Some(authority))
        .map_err(|_| "authority".to_string())?;
    req.set_path_with_query(Some(path))
        .map_err(|_| "path".to_string())?;
    let body = req.body().map_err(|_| "body".to_string())?;
    let fut = wasip2::http::outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"))?;
    // A refused request closes its body stream: what counts is the answer's outcome.
    let mut written = 0u64;
    match payload {
        Payload::Bytes(b) if !b.is_empty() => {
            if let Ok(out) = body.write() {
                let _ = out.blocking_write_and_flush(b);
                drop(out);
            }
        }
        Payload::Bytes(_) => {}
        Payload::Stream { prefix, total } => {
            if let Ok(out) = body.write() {
                written = stream(&out, prefix, total);
                drop(out);
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
    let resp = answer(fut)?;
    let status = resp.status();
    let headers = resp
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let body = resp.consume().map_err(|_| "consume")?;
    let stream = body.stream().map_err(|_| "stream")?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(65536) {
            Ok(c) => out.extend(c),
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(format!("read: {e:?}")),
        }
    }
    Ok(Reply {
        status,
        body: String::from_utf8_lossy(&out).into_owned(),
        headers,
        written,
    })
}

/// Write `prefix` then padding up to `total` bytes, as fast as the stream takes them; how many
/// bytes it took before closing.
fn stream(out: &wasip2::io::streams::OutputStream, prefix: &[u8], total: u64) -> u64 {
    let pad = vec![b'x'; 64 * 1024];
    let mut written = 0u64;
    while written < total {
        let room = match out.check_write() {
            Ok(0) => {
                out.subscribe().block();
                continue;
            }
            Ok(n) => n,
            Err(_) => return written,
        };
        let left = total - written;
        let n = room.min(left).min(pad.len() as u64) as usize;
        let chunk: &[u8] = if (written as usize) < prefix.len() {
            let from = written as usize;
            &prefix[from..prefix.len().min(from + n)]
        } else {
            &pad[..n]
        };
        if out.write(chunk).is_err() {
            return written;
        }
        written += chunk.len() as u64;
    }
    let _ = out.blocking_flush();
    written
}

/// Decode standard base64 (what a `Basic` credential holds); `None` if it is not base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.trim().trim_end_matches('=').bytes().collect();
    let mut out = Vec::new();
    for quad in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in quad.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        let n = match quad.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}
