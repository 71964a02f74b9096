//! Command-line arguments. Global options are accepted before or after the subcommand.

use crate::formats::Format;
use crate::inactivity::By;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Sandboxed Twilio governance connector: list, inspect and act on Twilio, Flex and Frontline users.
#[derive(Debug, Parser)]
#[command(name = "connector", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Twilio product to act on: twilio, flex or frontline.
    #[arg(long, global = true, env = "CONNECTOR_APP", default_value = "twilio")]
    pub app: String,
    /// Connector component (.wasm); defaults to the one `make build` produces.
    #[arg(long, global = true, env = "CONNECTOR_PLUGIN")]
    pub plugin: Option<PathBuf>,
    /// Reach every Twilio host at HOST:PORT over plain HTTP, keeping Host header and path.
    #[arg(
        long,
        global = true,
        env = "CONNECTOR_CONNECT_TO",
        value_name = "HOST:PORT"
    )]
    pub connect_to: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Fix the clock the plugin sees (RFC 3339).
    #[arg(long, global = true, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Append JSON audit lines (requests and actions) to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// Audit line format: the connector's own, or OCSF events (Account Change, HTTP Activity).
    #[arg(long, global = true, value_enum, default_value = "connector")]
    pub audit_format: AuditFormatArg,
    /// Flex instance SID (GO...): joins the Flex Users API and enables provisioning.
    #[arg(
        long,
        global = true,
        env = "TWILIO_FLEX_INSTANCE_SID",
        value_name = "GO_SID"
    )]
    pub flex_instance: Option<String>,
    /// Where compiled plugins are cached.
    #[arg(long, global = true, env = "CONNECTOR_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Where each tenant's kept state lives between runs (default: $XDG_STATE_HOME or
    /// ~/.local/state, under governance-connector; with neither, nothing is kept).
    #[arg(long, global = true, env = "CONNECTOR_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The approved build: refuse, before compiling it, a plugin file whose SHA-256 is not
    /// this one (64 hex digits, as `connector routes` prints it).
    #[arg(
        long,
        global = true,
        env = "CONNECTOR_PLUGIN_SHA256",
        value_name = "HEX"
    )]
    pub plugin_sha256: Option<String>,
    /// Time one upstream request may take, answer included, in seconds (1 to 3600; default 60).
    #[arg(
        long,
        global = true,
        env = "CONNECTOR_REQUEST_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub request_timeout: Option<String>,
    /// Requests one call may have in flight at once (1 to 1000; default 100): the connector
    /// climbs to it unless Twilio throttles first, and keeps each account under what Twilio
    /// accepts, shared by all its calls.
    #[arg(long, global = true, env = "CONNECTOR_MAX_IN_FLIGHT", value_name = "N")]
    pub max_in_flight: Option<String>,
    /// Whether `--app` was given (or `CONNECTOR_APP` set) rather than defaulted; see [`parse`].
    #[arg(skip)]
    pub app_given: bool,
    /// Whether the Flex instance came from `TWILIO_FLEX_INSTANCE_SID` rather than
    /// `--flex-instance` (an error names the one that was set).
    #[arg(skip)]
    pub flex_instance_from_env: bool,
}

/// The command line, knowing whether `--app` was given (`routes` reviews every app unless it is).
/// Help and version print as clap prints them; a usage error is one line on stderr, naming
/// what is wrong and where to look (an unknown command lists the commands).
pub fn parse() -> Cli {
    use clap::error::ErrorKind;
    parse_from(std::env::args_os()).unwrap_or_else(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            eprintln!("{}", crate::output::safe(&one_line(&e)));
            std::process::exit(e.exit_code())
        }
    })
}

/// A usage error as one line: clap's message (with the list a message ending in `:` introduces,
/// and any tip), then the next step.
fn one_line(e: &clap::Error) -> String {
    use clap::CommandFactory;
    let rendered = e.render().to_string();
    let mut message = String::new();
    let mut items = Vec::new();
    let mut tips = Vec::new();
    let mut usage = None;
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage:") {
            usage = Some(u.trim().to_string());
            break;
        }
        if message.is_empty() {
            message = line
                .strip_prefix("error:")
                .unwrap_or(line)
                .trim()
                .to_string();
        } else if let Some(tip) = line.strip_prefix("tip:") {
            tips.push(tip.trim().to_string());
        } else {
            items.push(line.to_string());
        }
    }
    if message.is_empty() {
        message = "the command line is not valid".into();
    }
    if !items.is_empty() {
        let colon = if message.ends_with(':') { "" } else { ":" };
        message = format!("{message}{colon} {}", items.join(", "));
    }
    if !tips.is_empty() {
        message = format!("{message} ({})", tips.join("; "));
    }
    let next = if e.kind() == clap::error::ErrorKind::InvalidSubcommand {
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_string())
            .collect();
        format!(
            "the commands are {}; `connector help COMMAND` shows one",
            names.join(", ")
        )
    } else {
        // `connector accounts [OPTIONS]` → `connector accounts`.
        let command: Vec<&str> = usage
            .as_deref()
            .unwrap_or("connector")
            .split_whitespace()
            .take_while(|w| !w.starts_with(['[', '<', '-']))
            .collect();
        format!("`{} --help` shows its options", command.join(" "))
    };
    format!("error: {message} — {next}")
}

pub(crate) fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::parser::ValueSource;
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.global.app_given = matches!(
        matches.value_source("app"),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    );
    cli.global.flex_instance_from_env = matches!(
        matches.value_source("flex_instance"),
        Some(ValueSource::EnvVariable)
    );
    Ok(cli)
}

/// `connector routes`' exit status when the policy refuses any declared route.
pub const ROUTES_REFUSED_EXIT: u8 = 3;

/// `--audit-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormatArg {
    /// The connector's own JSON lines.
    Connector,
    /// OCSF 1.4 events: Account Change (3001) for actions, HTTP Activity (4002) for requests.
    Ocsf,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the plugin's apps, their hosts and capabilities.
    Apps,
    /// Review a plugin before approving it: each route each app declares (or only --app's),
    /// whether the vendor policy grants it and under which constraints, and the file's SHA-256
    /// to pin with CONNECTOR_PLUGIN_SHA256. Works for a plugin the host would refuse; needs no
    /// credentials and sends nothing.
    #[command(
        after_help = "Exit status: 0 when the vendor policy grants every route the plugin \
        declares (of every app, even with --app: the host loads a plugin whole or not at all), \
        3 when it refuses any, 1 when the plugin cannot be reviewed."
    )]
    Routes,
    /// Verify credentials and configuration with one read.
    Check,
    /// List every account with status, last activity and entitlements.
    Accounts {
        /// Frontline: fetch these identities or SIDs (one per line; `-` reads stdin).
        #[arg(long, value_name = "FILE")]
        identities: Option<PathBuf>,
        /// Sync every tenant of a TOML tenants file concurrently (see README).
        #[arg(long, value_name = "FILE", conflicts_with = "identities")]
        tenants: Option<PathBuf>,
        /// Most tenants synced at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Output format (`--json` is `--format json`).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Only what has been inactive for longer than this (e.g. 90d, 12w, 1y) or never used,
        /// plus a summary line on stderr.
        #[arg(long, value_name = "PERIOD")]
        inactive_for: Option<String>,
        /// With --inactive-for: judge whole accounts, or each entitlement.
        #[arg(long, value_enum, default_value = "account", requires = "inactive_for")]
        by: By,
        /// Read everything again: forget the tenants' kept state first (a re-sync otherwise
        /// reads only what can have changed).
        #[arg(long)]
        full: bool,
    },
    /// Show or reset the state kept for each tenant between runs.
    State {
        #[command(subcommand)]
        action: StateAction,
        /// The tenants of a TOML tenants file (default: the one tenant from the environment).
        #[arg(long, value_name = "FILE", global = true)]
        tenants: Option<PathBuf>,
    },
    /// Show one account.
    Account {
        /// Account SID (or the app's user id).
        id: String,
    },
    /// Suspend an account.
    Suspend(ActionArgs),
    /// Reactivate a suspended account.
    Reactivate(ActionArgs),
    /// Deprovision (close) an account.
    Deprovision(ActionArgs),
    /// Provision a Flex user (Flex Users API; needs --flex-instance).
    Provision(ProvisionArgs),
    /// List what the app can grant (roles, and where they apply).
    Entitlements,
    /// Give an account one entitlement (see `entitlements`), leaving the rest of its access.
    Grant(EntitlementArgs),
    /// Take one entitlement from an account, leaving the rest of its access.
    Revoke(EntitlementArgs),
    /// Check a plugin build against the built-in simulator, one line per check.
    Conformance,
    /// Take jobs from the cluster's queue (NATS JetStream); run any number, on any machines.
    Worker(WorkerArgs),
    /// Put jobs on the cluster's queue: a sync per tenant, or one action.
    Enqueue(EnqueueArgs),
    /// Print each tenant's latest complete snapshot (the JSON lines of `accounts --json`).
    Results(ResultsArgs),
    /// The cluster at a glance.
    Cluster {
        #[command(subcommand)]
        what: ClusterWhat,
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Serve SCIM 2.0 (RFC 7644) over the connector: one base per tenant and app,
    /// `/scim/v2/{tenant}/{app}/`, for IdPs and governance platforms that speak SCIM.
    Serve(ServeArgs),
    /// Run the Twilio simulator on loopback.
    Sim(SimArgs),
    /// Run the simulator with the demo fixture and sync through the component.
    Demo,
}

/// `state` subcommands.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum StateAction {
    /// List each tenant's kept keys, their sizes and a preview of their values.
    Show,
    /// Forget each tenant's kept state (its next sync reads everything).
    Clear,
}

/// Arguments of an action.
#[derive(Debug, Args)]
pub struct ActionArgs {
    /// Account SID (or the app's user id).
    pub id: String,
    /// Show what would be done; send nothing that changes state.
    #[arg(long)]
    pub dry_run: bool,
    /// Frontline: also set availability for new conversations.
    #[arg(long, value_name = "true|false")]
    pub available: Option<bool>,
}

/// Arguments of `grant` and `revoke`.
#[derive(Debug, Args)]
pub struct EntitlementArgs {
    /// Account id (as `accounts` lists it).
    pub id: String,
    /// The entitlement's id (as `entitlements` lists it).
    #[arg(long, value_name = "ID")]
    pub entitlement: String,
    /// Show what would be done; send nothing that changes state.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Unique username (1-256 characters).
    #[arg(long)]
    pub username: String,
    /// Email address (1-256 characters).
    #[arg(long)]
    pub email: String,
    /// Full name (1-256 characters).
    #[arg(long)]
    pub full_name: String,
    /// Role: agent, supervisor or admin (repeatable).
    #[arg(long = "role", value_name = "ROLE", required = true)]
    pub roles: Vec<String>,
    /// TaskRouter worker attributes as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub worker_attributes: Option<String>,
    /// Show what would be done; send nothing that changes state.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub what: Option<ServeWhat>,
    /// Address to listen on (HOST:PORT).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// The tenants to serve (TOML, as `accounts --tenants`); without it, the one tenant of the
    /// environment, named `default`.
    #[arg(long, value_name = "FILE")]
    pub tenants: Option<PathBuf>,
    /// Who may call (TOML `[[client]]` blocks: name, token_sha256, tenants, apps, access).
    #[arg(long, value_name = "FILE")]
    pub clients: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, the server speaks HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where clients reach the server (e.g. https://scim.example.com behind a proxy): the base
    /// of every meta.location. Default: the scheme and --listen address.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// How old a listing may grow before it is synced again (e.g. 300s, 15m, 1h).
    #[arg(long, default_value = "5m", value_name = "AGE")]
    pub refresh: String,
    /// Requests per second each client may make (above --burst, answered 429).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Requests a client may make at once before --rate applies.
    #[arg(long, default_value_t = 100)]
    pub burst: u32,
}

/// `serve` subcommands.
#[derive(Debug, Subcommand)]
pub enum ServeWhat {
    /// Make a client: print a fresh bearer token once, and the lines for the clients file.
    NewClient {
        /// The client's name (letters, digits, `.`, `_`, `-`).
        name: String,
    },
}

/// Arguments of `sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Fixture JSON; the built-in demo fixture when absent.
    #[arg(long, value_name = "FILE")]
    pub fixture: Option<PathBuf>,
    /// Generate a fixture with N subaccounts instead.
    #[arg(long, value_name = "N", conflicts_with = "fixture")]
    pub generate: Option<usize>,
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// Latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer every Nth request with 429.
    #[arg(long, default_value_t = 0)]
    pub rate_limit_every: u64,
    /// Answer every Nth request with 503.
    #[arg(long, default_value_t = 0)]
    pub error_every: u64,
    /// Answer every Nth request with a malformed body.
    #[arg(long, default_value_t = 0)]
    pub malformed_every: u64,
}

/// Where the cluster's NATS server is.
#[derive(Debug, Args)]
pub struct NatsArgs {
    /// NATS server URL (JetStream enabled).
    #[arg(
        long,
        global = true,
        env = "CONNECTOR_NATS",
        default_value = "nats://127.0.0.1:4222",
        value_name = "URL"
    )]
    pub nats: String,
}

/// `connector worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The tenants this worker holds secrets for (others' jobs are left to other workers).
    #[arg(long, value_name = "FILE")]
    pub tenants: PathBuf,
    /// This worker's name in `cluster status` (default: host name and process id).
    #[arg(long)]
    pub id: Option<String>,
    /// Jobs run at once (each for a different tenant).
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// On SIGTERM or Ctrl-C: seconds running jobs may take to finish before they are handed
    /// back to the queue (a sync hands itself back at its next checkpoint at once).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub grace: u64,
    /// Serve Prometheus metrics (text format 0.0.4) at http://ADDR/metrics, e.g.
    /// 127.0.0.1:9464: jobs by kind and outcome, job durations, upstream requests by status
    /// and in flight, lease losses, redeliveries, the age of each snapshot published here.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
}

/// `connector enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Tenants file: only names and apps are read (no secret is needed to enqueue).
    #[arg(long, value_name = "FILE")]
    pub tenants: PathBuf,
    /// Only this tenant (required for an action).
    #[arg(long)]
    pub tenant: Option<String>,
    #[command(subcommand)]
    pub what: Option<EnqueueWhat>,
}

/// What to enqueue (a sync of every tenant when omitted).
#[derive(Debug, Subcommand)]
pub enum EnqueueWhat {
    /// A sync per tenant.
    Sync,
    /// Suspend one account.
    Suspend(ClusterAction),
    /// Reactivate one account.
    Reactivate(ClusterAction),
    /// Deprovision one account.
    Deprovision(ClusterAction),
    /// Give one account one entitlement.
    Grant(ClusterEntitlementAction),
    /// Take one entitlement from one account.
    Revoke(ClusterEntitlementAction),
}

/// A grant or a revoke to enqueue.
#[derive(Debug, Args)]
pub struct ClusterEntitlementAction {
    #[command(flatten)]
    pub action: ClusterAction,
    /// The entitlement (an id from `connector entitlements`).
    #[arg(long, value_name = "E")]
    pub entitlement: String,
}

/// An action to enqueue.
#[derive(Debug, Args)]
pub struct ClusterAction {
    /// Account SID (or the app's user id).
    pub id: String,
    /// Show what would be done; send nothing that changes state.
    #[arg(long)]
    pub dry_run: bool,
    /// Idempotency key: the same key is taken once (default: derived from tenant, app, action
    /// and account).
    #[arg(long)]
    pub key: Option<String>,
}

/// `connector results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Output format (default: the JSON lines of `accounts --json`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Only what has been inactive for longer than this (e.g. 90d), as with `accounts`.
    #[arg(long, value_name = "PERIOD")]
    pub inactive_for: Option<String>,
    /// With --inactive-for: judge whole accounts, or each entitlement.
    #[arg(long, value_enum, default_value = "account", requires = "inactive_for")]
    pub by: By,
}

/// `connector cluster …`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum ClusterWhat {
    /// Queue depth, jobs in flight, redeliveries, live workers, failures, snapshots.
    Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_knows_whether_app_was_given_before_or_after_it() {
        let given = |args: &[&str]| parse_from(args).unwrap().global.app_given;
        assert!(!given(&["connector", "routes"]));
        assert!(given(&["connector", "routes", "--app", "flex"]));
        assert!(given(&["connector", "--app", "twilio", "routes"]));
    }

    #[test]
    fn usage_errors_are_one_line_with_a_next_step() {
        let line = |args: &[&str]| one_line(&parse_from(args).unwrap_err());
        let e = line(&["connector", "nope"]);
        assert!(
            e.starts_with("error: unrecognized subcommand 'nope' — the commands are apps, routes, check, accounts,"),
            "{e}"
        );
        assert!(e.ends_with("; `connector help COMMAND` shows one"), "{e}");
        let e = line(&["connector", "acount"]);
        assert!(
            e.contains("(some similar subcommands exist: ")
                && e.contains("'accounts'")
                && e.contains("'account'"),
            "{e}"
        );
        let e = line(&["connector", "accounts", "--bogus"]);
        assert!(
            e.starts_with("error: unexpected argument '--bogus' found"),
            "{e}"
        );
        assert!(
            e.ends_with("— `connector accounts --help` shows its options"),
            "{e}"
        );
        let e = line(&["connector", "provision", "--username", "u"]);
        assert!(
            e.contains("the following required arguments were not provided: --email <EMAIL>, --full-name <FULL_NAME>, --role <ROLE>"),
            "{e}"
        );
        assert!(
            e.ends_with("`connector provision --help` shows its options"),
            "{e}"
        );
        for e in [e, line(&["connector", "nope"])] {
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn the_flex_instance_knows_whether_it_came_from_the_flag() {
        let cli = parse_from(["connector", "check", "--flex-instance", "GO1"]).unwrap();
        assert!(!cli.global.flex_instance_from_env);
    }

    #[test]
    fn routes_help_states_the_refusal_exit_status() {
        use clap::CommandFactory;
        let help = Cli::command()
            .find_subcommand_mut("routes")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(
            help.contains(&format!("{ROUTES_REFUSED_EXIT} when it refuses any")),
            "{help}"
        );
    }
}
