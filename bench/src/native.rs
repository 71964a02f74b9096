//! The same connector logic compiled natively, with a native HTTP executor: the baseline that
//! shows what the sandbox costs.

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::net::SocketAddr;
use twilio_connector::errors::ConnectorError;
use twilio_connector::http::{Request, Response, Ticket, Transport};

type Answer = (Ticket, Result<Response, ConnectorError>);

/// Sends each request as a task on a tokio runtime, one connection per request (as wasi-http
/// does); answers come back through a channel as they finish.
pub struct NativeTransport {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    auth: String,
    seed: u64,
    started: std::time::Instant,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    tx: tokio::sync::mpsc::UnboundedSender<Answer>,
    rx: tokio::sync::mpsc::UnboundedReceiver<Answer>,
}

impl NativeTransport {
    /// A transport that reaches every host at `addr` with Basic `user:secret`.
    pub fn new(addr: SocketAddr, user: &str, secret: &str) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
        );
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Self {
            rt,
            addr,
            auth,
            seed: 0x9e3779b97f4a7c15,
            started: std::time::Instant::now(),
            tasks: Vec::new(),
            tx,
            rx,
        }
    }
}

async fn send(addr: SocketAddr, auth: String, req: Request) -> Result<Response, ConnectorError> {
    let rest = req
        .url
        .strip_prefix("https://")
        .ok_or_else(|| ConnectorError::Transport("not https".into()))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| ConnectorError::Transport(e.to_string()))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| ConnectorError::Transport(e.to_string()))?;
    tokio::spawn(conn);
    let method = req.method.as_str();
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(if path.is_empty() { "/" } else { path })
        .header("host", host)
        .header("authorization", auth);
    if let Some(ct) = req.content_type {
        b = b.header("content-type", ct);
    }
    let request = b
        .body(Full::new(Bytes::from(req.body)))
        .map_err(|e| ConnectorError::Transport(e.to_string()))?;
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| ConnectorError::Transport(e.to_string()))?;
    let status = answer.status().as_u16();
    let retry_after_ms = answer
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|s| s * 1000);
    let body = answer
        .into_body()
        .collect()
        .await
        .map_err(|e| ConnectorError::Transport(e.to_string()))?
        .to_bytes()
        .to_vec();
    Ok(Response {
        status,
        retry_after_ms,
        body,
    })
}

impl Transport for NativeTransport {
    fn start(&mut self, ticket: Ticket, request: &Request) {
        let (addr, auth, tx) = (self.addr, self.auth.clone(), self.tx.clone());
        let request = request.clone();
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(self.rt.spawn(async move {
            let _ = tx.send((ticket, send(addr, auth, request).await));
        }));
    }

    fn wait(&mut self, timeout_ms: Option<u64>) -> Vec<Answer> {
        let rx = &mut self.rx;
        let first = self.rt.block_on(async {
            match timeout_ms {
                Some(ms) => tokio::time::timeout(std::time::Duration::from_millis(ms), rx.recv())
                    .await
                    .ok()
                    .flatten(),
                None => rx.recv().await,
            }
        });
        let mut out: Vec<Answer> = first.into_iter().collect();
        while let Ok(a) = self.rx.try_recv() {
            out.push(a);
        }
        out
    }

    fn cancel_all(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        while self.rx.try_recv().is_ok() {}
    }

    fn monotonic_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn random_u64(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// A whole sync (every page) through the native build; returns the account count.
pub fn sync(
    transport: &mut NativeTransport,
    app: &str,
    account_id: &str,
    options: &[(&str, &str)],
) -> Result<usize, ConnectorError> {
    let cfg = twilio_connector::model::Config {
        app: app.into(),
        account_id: account_id.into(),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let mut client = twilio_connector::retry::Client::new(
        transport,
        twilio_connector::retry::Policy::for_config(&cfg),
    );
    // A fresh state per sync: a full sync, as the component does with no kept state.
    let mut state = twilio_connector::state::MemoryState::default();
    let mut cursor: Option<String> = None;
    let mut n = 0;
    loop {
        let page = twilio_connector::apps::list_accounts(
            &mut client,
            &mut state,
            &cfg,
            cursor.as_deref(),
        )?;
        n += page.accounts.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(n),
        }
    }
}
