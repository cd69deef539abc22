//! `lakectl serve`: the lake as a service. One process unlocks the lake once and answers the AWS
//! wire protocols over HTTP, so any AWS client (the aws CLI, boto3, pyarrow, lakectl itself with
//! `--backend aws --endpoint-url`) uses the lake, every request authenticated with Signature V4
//! under a principal's access key, and every call going through the same service layer and the
//! same permission checks as the CLI's. Runs started through the server live in it.
//!
//! Layout: this module listens, accepts and drains; `dispatch.rs` tells the protocols apart;
//! `sigv4.rs` authenticates what is not S3 (s3s authenticates S3, presigned URLs and streaming
//! payloads included); one module per wire protocol translates to the service layer.

mod athena;
mod body;
mod cloudtrail;
mod dispatch;
mod errors;
mod glue;
mod glue_crawls;
mod glue_workflows;
mod iam;
mod identity;
mod json_protocol;
mod kms;
mod kms_crypto;
mod lakeformation;
mod macie;
mod paging;
mod query_protocol;
mod rest_json;
mod s3;
mod s3_multipart;
mod secretsmanager;
mod sigv4;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::local::Lake;
use crate::service::{Code, Result, ServiceError};

/// How long a shutdown waits for requests under way before it closes their connections. A put
/// cut off here is not committed (objects appear whole or not at all), so nothing is left half.
const DRAIN: Duration = Duration::from_secs(30);

/// How often the server looks for due schedules (their resolution is a minute).
const SCHEDULER_TICK: Duration = Duration::from_secs(1);

/// The request headers a client may send, in total; beyond it the request is refused with 431
/// before anything is read of its body.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// `lakectl serve`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free one; the address is printed when ready)
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
    /// The server's certificate chain (PEM); with --tls-key, the server speaks HTTPS only
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM)
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (credentials are not sent over the
    /// wire, but the data is)
    #[arg(long)]
    pub insecure_http: bool,
}

/// Serves `lake` until `shutdown` resolves, then drains: requests under way finish (for up to
/// 30 seconds), new connections are refused.
pub async fn serve(
    lake: Arc<Lake>,
    args: ServeArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ if args.listen.ip().is_loopback() || args.insecure_http => None,
        _ => {
            return Err(ServiceError::new(
                Code::ParamValidation,
                format!(
                    "{} is not a loopback address: serve it with --tls-cert and --tls-key, or say --insecure-http",
                    args.listen
                ),
            ));
        }
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| ServiceError::local_io(&format!("cannot listen on {}", args.listen), &e))?;
    let local = listener
        .local_addr()
        .map_err(|e| ServiceError::local_io("cannot read the listening address", &e))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // One JSON line on stdout, so a script or a test learns the port it was given.
    println!(
        "{}",
        serde_json::json!({"Listening": format!("{scheme}://{local}"), "Lake": lake.root().display().to_string()})
    );
    tracing::info!(%local, scheme, "lake server listening");

    // Processes that start replication tasks hand them to this server while it runs.
    lake.register_server()?;
    // Schedules fire here, workflow runs whose process died are finished here, and replication
    // tasks run here (handed over, or resumed after their runner died).
    let scheduler = tokio::spawn(schedule(lake.clone()));
    // Events recorded by this server, or by any process on the lake, are delivered here
    // (local/events/dispatch.rs); the task ends with the server.
    let dispatcher = tokio::spawn(lake.clone().dispatch_forever());
    let _dispatcher = AbortOnDrop(dispatcher);
    let router = Arc::new(dispatch::Router::new(lake));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                connections.spawn(connection(tcp, peer, tls.clone(), router.clone(), stop_rx.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    scheduler.abort();
    router.lake.unregister_server();
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the drain: closed");
        connections.shutdown().await;
    }
    Ok(())
}

/// Every second: SCHEDULED triggers that are due fire (once, even with two servers on one
/// lake), and workflow runs whose driving process died are taken over.
async fn schedule(lake: Arc<Lake>) {
    let mut every = tokio::time::interval(SCHEDULER_TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let lake = lake.clone();
        let _ = tokio::task::spawn_blocking(move || lake.scheduler_tick(chrono::Utc::now())).await;
    }
}

/// One client connection: TLS if configured, then HTTP/1.1 until the client closes it or the
/// server drains (the request under way finishes first).
async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Arc<dispatch::Router>,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |req| {
        let router = router.clone();
        async move { Ok::<_, std::convert::Infallible>(router.handle(req, peer).await) }
    });
    let builder = {
        let mut b = hyper::server::conn::http1::Builder::new();
        b.max_buf_size(MAX_HEADER_BYTES.max(8192))
            .header_read_timeout(Duration::from_secs(30))
            .timer(hyper_util::rt::TokioTimer::new());
        b
    };
    macro_rules! drive {
        ($io:expr) => {{
            let conn = builder.serve_connection($io, service);
            tokio::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        }};
    }
    match tls {
        Some(acceptor) => match acceptor.accept(tcp).await {
            Ok(stream) => drive!(TokioIo::new(stream)),
            Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        },
        None => drive!(TokioIo::new(tcp)),
    }
}

/// Ends a spawned task when the server that spawned it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
