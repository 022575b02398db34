//! Settings, from command-line flags and `ATTEST_*` / `DATABASE_URL` environment variables.
//! Every parse error names the flag or variable to fix.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// attest: self-hosted access reviews of groups, applications and roles.
#[derive(Debug, Parser)]
#[command(name = "attest", version, about)]
pub struct Cli {
    /// Database to use: sqlite://PATH (embedded, the default) or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://attest.db", global = true)]
    pub database_url: String,

    /// The key file sealing stored secrets (LDAP bind passwords); created on first use,
    /// readable by its owner only. Keep it out of database backups, and keep a copy of it.
    #[arg(long, env = "ATTEST_SECRET_KEY_FILE", default_value = "attest-secret.key", global = true)]
    pub secret_key_file: PathBuf,

    /// Log filter, e.g. `info` or `attest=debug,actix_web=info`.
    #[arg(long, env = "ATTEST_LOG", default_value = "info", global = true)]
    pub log: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web portal (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Create or upgrade the database tables, then exit.
    Migrate,
    /// Fill the database with a generated demo directory (users, groups, apps, roles,
    /// sign-ins). Refuses if the directory already has users.
    DemoData(DemoArgs),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Apply a completed review's results: remove the denied access (resumes an apply that
    /// was interrupted; an applied review is left as it is).
    Apply(ApplyArgs),
    /// Bearer tokens of SCIM provisioning sources (Entra ID, Okta, …).
    #[command(subcommand)]
    ScimToken(ScimTokenCommand),
    /// Clients of the Graph-compatible API (client credentials: an id and a secret).
    #[command(subcommand)]
    ApiClient(ApiClientCommand),
    /// The directory's sources: attest itself, SCIM connections, CSV imports.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Import users, groups, memberships, owners, applications, app assignments and role
    /// assignments from CSV files into a CSV source (created on first use). The kind of
    /// each file is told by its header row. Any problem in any file: nothing is written.
    Import(ImportArgs),
    /// Import sign-in events (Entra ID's or Okta's exports, CSV or JSON lines). Importing
    /// the same events again changes nothing.
    ImportSignIns(ImportSignInsArgs),
}

/// Flags of `attest import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The CSV source's name, e.g. "HR export".
    #[arg(long)]
    pub source: String,
    /// Show what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove the source's objects, of the kinds in the files, that the files no longer hold.
    #[arg(long)]
    pub full: bool,
    /// The CSV files.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
}

/// Flags of `attest import-sign-ins`.
#[derive(Debug, Clone, Args)]
pub struct ImportSignInsArgs {
    /// The files of events (CSV or JSON lines).
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
}

/// Subcommands of `attest scim-token`.
#[derive(Debug, Clone, Subcommand)]
pub enum ScimTokenCommand {
    /// Print a new token for a SCIM source (created when it does not exist). The token is
    /// shown once: paste it into the provisioning client as its secret token.
    Create {
        /// The SCIM source's name, e.g. "Entra ID".
        #[arg(long)]
        source: String,
        /// A name for the token, e.g. after the client that uses it.
        #[arg(long, default_value = "command line")]
        name: String,
    },
    /// Revoke a token: requests that present it are refused from then on.
    Revoke {
        /// The SCIM source's name.
        #[arg(long)]
        source: String,
        /// The token's id (see `attest scim-token list`) or its name.
        token: String,
    },
    /// List a source's tokens (never the tokens themselves).
    List {
        /// The SCIM source's name.
        #[arg(long)]
        source: String,
    },
}

/// Subcommands of `attest api-client`.
#[derive(Debug, Clone, Subcommand)]
pub enum ApiClientCommand {
    /// Register a client and print its id and secret (shown once: keep the secret in the
    /// calling system's vault).
    Create {
        /// A name, e.g. after the script or tool, "GRC export".
        #[arg(long)]
        name: String,
        /// AccessReview.Read.All or AccessReview.ReadWrite.All.
        #[arg(long, default_value = "AccessReview.Read.All")]
        permission: String,
        /// Days until the secret expires.
        #[arg(long, default_value_t = 180)]
        days: i64,
    },
    /// List the clients (never their secrets).
    List,
    /// Revoke a client: its tokens stop working at once.
    Revoke {
        /// The client id.
        id: String,
    },
}

/// Subcommands of `attest source`.
#[derive(Debug, Clone, Subcommand)]
pub enum SourceCommand {
    /// List the sources with what each holds.
    List,
    /// Add an LDAP or Active Directory connection. The bind password is read from the
    /// environment variable named by --password-env (never from the command line, where
    /// other users could see it) and stored encrypted.
    AddLdap(Box<AddLdapArgs>),
    /// Sync an LDAP connection now: read the directory and write it in one transaction.
    Sync {
        /// The connection's name.
        name: String,
        /// Show what would change, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Test an LDAP connection: reach, TLS, bind, base DNs and filters.
    Test {
        /// The connection's name.
        name: String,
    },
}

/// Flags of `attest source add-ldap`.
#[derive(Debug, Clone, Args)]
pub struct AddLdapArgs {
    /// A name for the connection, e.g. "Corporate AD".
    #[arg(long)]
    pub name: String,
    /// ldaps://host:636, or ldap://host:389 (StartTLS unless --no-tls).
    #[arg(long)]
    pub url: String,
    /// Attribute names and filters for: ad (Active Directory) or openldap.
    #[arg(long, default_value = "openldap")]
    pub preset: String,
    /// The DN to bind as (empty: anonymous).
    #[arg(long, default_value = "")]
    pub bind_dn: String,
    /// The environment variable holding the bind password.
    #[arg(long)]
    pub password_env: Option<String>,
    /// Where users are, e.g. ou=people,dc=example,dc=org.
    #[arg(long)]
    pub users_base: String,
    /// Where groups are.
    #[arg(long)]
    pub groups_base: String,
    /// The users filter (default: the preset's).
    #[arg(long)]
    pub users_filter: Option<String>,
    /// The groups filter (default: the preset's).
    #[arg(long)]
    pub groups_filter: Option<String>,
    /// The attribute holding the userPrincipalName (default: the preset's).
    #[arg(long)]
    pub upn_attribute: Option<String>,
    /// Plain LDAP without StartTLS on an ldap:// URL: the password crosses the network in
    /// the clear. For a test directory only.
    #[arg(long)]
    pub no_tls: bool,
    /// Minutes between scheduled syncs (0: only on demand).
    #[arg(long, default_value_t = 60)]
    pub sync_interval: u32,
    /// Seconds each LDAP operation may take.
    #[arg(long, default_value_t = 30)]
    pub timeout: u32,
    /// Entries per page (RFC 2696 paged results).
    #[arg(long, default_value_t = 500)]
    pub page_size: u32,
}

/// Flags of `attest apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The id of the review instance (shown on its results page).
    #[arg(long)]
    pub instance: String,

    /// Items applied per transaction (small values let tests stop a run half-way).
    #[arg(long, env = "ATTEST_APPLY_BATCH", default_value_t = 5_000, hide = true,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,
}

/// Subcommands of `attest audit`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain: exits non-zero and names the first broken link when an
    /// event was changed, deleted or inserted; prints the newest hash to keep elsewhere.
    Verify,
}

/// Flags of `attest serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "ATTEST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Seed a demo directory on first start (kept on later starts).
    #[arg(long, env = "ATTEST_DEMO")]
    pub demo: bool,

    /// Database connections kept open (2–4 is plenty on a small machine).
    #[arg(long, env = "ATTEST_POOL_SIZE", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub pool_size: u32,

    /// Users in the demo directory seeded by `--demo`.
    #[arg(long, env = "ATTEST_DEMO_USERS", default_value_t = 500, value_parser = clap::value_parser!(u32).range(10..=2_000_000))]
    pub demo_users: u32,

    /// The address people use to reach attest (links in mails, the OIDC redirect URL;
    /// https here makes cookies Secure). Default: http:// and the bind address.
    #[arg(long, env = "ATTEST_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// OpenID Connect issuer URL of your identity provider (discovery is read from
    /// ISSUER/.well-known/openid-configuration).
    #[arg(long, env = "ATTEST_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// OAuth client id of attest's registration at the identity provider.
    #[arg(long, env = "ATTEST_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// OAuth client secret (confidential client).
    #[arg(long, env = "ATTEST_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,

    /// Redirect URL registered at the provider. Default: PUBLIC_URL/auth/callback.
    #[arg(long, env = "ATTEST_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,

    /// Scopes to ask for, separated by spaces.
    #[arg(long, env = "ATTEST_OIDC_SCOPES", default_value = "openid profile email")]
    pub oidc_scopes: String,

    /// Claims matched against the user principal name, tried in order (comma-separated;
    /// from preferred_username, email, sub); from the ID token, or from the provider's
    /// UserInfo endpoint when the ID token lacks them.
    #[arg(long, env = "ATTEST_OIDC_USER_CLAIM", default_value = "preferred_username,email")]
    pub oidc_user_claim: String,

    /// Key that signs and encrypts session cookies: at least 64 random bytes, base64.
    /// Without it a key is generated on first start and kept in the database.
    #[arg(long, env = "ATTEST_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,

    /// Minutes without activity after which a session ends.
    #[arg(long, env = "ATTEST_SESSION_IDLE_MINUTES", default_value_t = 480, value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub session_idle_minutes: u32,

    /// Seconds between scheduler ticks (starting and completing review instances).
    #[arg(long, env = "ATTEST_SCHEDULER_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub scheduler_seconds: u64,

    /// Sign-in attempts allowed per minute from one client address.
    #[arg(long, env = "ATTEST_SIGN_IN_RATE", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub sign_in_rate: u32,

    /// API requests allowed per minute per API client or token (more: 429 with Retry-After).
    #[arg(long, env = "ATTEST_API_REQUESTS_PER_MINUTE", default_value_t = 600,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub api_requests_per_minute: u32,

    /// Reverse proxies whose X-Forwarded-For is believed, comma-separated IP addresses and
    /// CIDR ranges (e.g. "10.0.0.0/8, ::1"). Without it the peer's address is the client's.
    #[arg(long, env = "ATTEST_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,

    /// SMTP server that delivers attest's mails. Without it, mails wait in the outbox
    /// (readable by admins under Outbox).
    #[arg(long, env = "ATTEST_SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// SMTP port. Default: 587 for starttls, 465 for tls, 25 for none.
    #[arg(long, env = "ATTEST_SMTP_PORT")]
    pub smtp_port: Option<u16>,

    /// How the SMTP connection is secured: starttls, tls (implicit TLS) or none.
    #[arg(long, env = "ATTEST_SMTP_TLS", default_value = "starttls")]
    pub smtp_tls: String,

    /// SMTP user name, when the server wants authentication.
    #[arg(long, env = "ATTEST_SMTP_USER")]
    pub smtp_user: Option<String>,

    /// SMTP password.
    #[arg(long, env = "ATTEST_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,

    /// Sender of attest's mails, e.g. "Access reviews <reviews@example.com>".
    #[arg(long, env = "ATTEST_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// Seconds between passes of the mail sender over the outbox.
    #[arg(long, env = "ATTEST_MAIL_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub mail_seconds: u64,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (a relay on the same host or network only).
    None,
    /// Plain connection upgraded with STARTTLS (required, never skipped).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl TlsMode {
    /// Parses ATTEST_SMTP_TLS.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            other => Err(format!("ATTEST_SMTP_TLS: unknown mode '{other}'; use starttls, tls or none")),
        }
    }

    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }
}

/// The SMTP server attest sends through.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connection security.
    pub tls: TlsMode,
    /// User name, when the server wants authentication.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// The sender address.
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    // Hand-written so the password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

/// Mail delivery settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The SMTP server; `None` keeps mails in the outbox.
    pub smtp: Option<SmtpSettings>,
    /// How often the sender looks at the outbox.
    pub interval: std::time::Duration,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self { smtp: None, interval: std::time::Duration::from_secs(10) }
    }
}

impl MailSettings {
    /// Validates the mail flags of `serve`; errors name the variable to fix.
    pub fn from_args(args: &ServeArgs) -> Result<Self, String> {
        let interval = std::time::Duration::from_secs(args.mail_seconds);
        let tls = TlsMode::parse(&args.smtp_tls)?;
        let Some(host) = args.smtp_host.as_deref().map(str::trim).filter(|h| !h.is_empty()) else {
            return Ok(Self { smtp: None, interval });
        };
        let from = args.mail_from.as_deref().map(str::trim).filter(|f| !f.is_empty()).ok_or_else(|| {
            "ATTEST_MAIL_FROM: set the sender address that goes with ATTEST_SMTP_HOST, e.g. reviews@example.com"
                .to_owned()
        })?;
        if args.smtp_password.is_some() && args.smtp_user.is_none() {
            return Err("ATTEST_SMTP_USER: set the user name that goes with ATTEST_SMTP_PASSWORD".into());
        }
        Ok(Self {
            smtp: Some(SmtpSettings {
                host: host.to_owned(),
                port: args.smtp_port.unwrap_or(tls.default_port()),
                tls,
                user: args.smtp_user.clone().filter(|u| !u.is_empty()),
                password: args.smtp_password.clone(),
                from: from.to_owned(),
            }),
            interval,
        })
    }
}

/// Which ID-token claim names the directory user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserClaim {
    /// `preferred_username` (Entra ID puts the UPN here).
    PreferredUsername,
    /// `email`.
    Email,
    /// `sub`, the provider's subject id.
    Subject,
}

/// OpenID Connect client settings, validated.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret, for confidential clients.
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back.
    pub redirect_url: String,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// Claims matched against UPNs, in order.
    pub user_claims: Vec<UserClaim>,
}

/// How people sign in and how long they stay signed in.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Base URL of the portal, without a trailing slash.
    pub public_url: String,
    /// Mark cookies Secure (the public URL is https).
    pub secure_cookies: bool,
    /// The identity provider, when configured.
    pub oidc: Option<OidcSettings>,
    /// A configured session key (decoded); `None` means "kept in the database".
    pub session_key: Option<Vec<u8>>,
    /// Idle timeout.
    pub idle_timeout: chrono::TimeDelta,
    /// Sign-in attempts per minute per client.
    pub sign_in_per_minute: u32,
    /// API requests per minute per API client or token.
    pub api_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
}

impl AuthSettings {
    /// Defaults for a portal at `public_url` without an identity provider.
    pub fn new(public_url: &str) -> Self {
        let public_url = public_url.trim_end_matches('/').to_owned();
        Self {
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            oidc: None,
            session_key: None,
            idle_timeout: chrono::TimeDelta::minutes(480),
            sign_in_per_minute: 30,
            api_per_minute: 600,
            trusted_proxies: TrustedProxies::default(),
        }
    }

    /// The settings once the server listens on `port`: a public URL derived from a bind
    /// address with port 0 ("any free port") names the port actually taken, so links in
    /// mails and the SCIM `Location` headers point somewhere that answers.
    pub fn listening_on(mut self, port: u16) -> Self {
        if let Some(host) = self.public_url.strip_suffix(":0") {
            self.public_url = format!("{host}:{port}");
        }
        self
    }

    /// Validates the flags of `serve`; errors name the variable to fix.
    pub fn from_args(args: &ServeArgs) -> Result<Self, String> {
        let default_url = if args.bind.ip().is_unspecified() {
            format!("http://127.0.0.1:{}", args.bind.port())
        } else {
            format!("http://{}", args.bind)
        };
        let public_url = args.public_url.clone().unwrap_or(default_url);
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(format!("ATTEST_PUBLIC_URL: '{public_url}' must start with http:// or https://"));
        }
        let mut settings = Self::new(&public_url);
        settings.idle_timeout = chrono::TimeDelta::minutes(i64::from(args.session_idle_minutes));
        settings.sign_in_per_minute = args.sign_in_rate;
        settings.api_per_minute = args.api_requests_per_minute;
        if let Some(text) = &args.trusted_proxies {
            settings.trusted_proxies = TrustedProxies::parse(text)?;
        }
        if let Some(key) = &args.session_key {
            settings.session_key = Some(parse_session_key(key)?);
        }
        settings.oidc = match (&args.oidc_issuer, &args.oidc_client_id) {
            (None, None) => None,
            (Some(_), None) => {
                return Err("ATTEST_OIDC_CLIENT_ID: set the client id that goes with ATTEST_OIDC_ISSUER".into());
            }
            (None, Some(_)) => {
                return Err("ATTEST_OIDC_ISSUER: set the issuer URL that goes with ATTEST_OIDC_CLIENT_ID".into());
            }
            (Some(issuer), Some(client_id)) => {
                if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
                    return Err(format!(
                        "ATTEST_OIDC_ISSUER: '{issuer}' is not a URL; use the issuer from your provider's discovery document"
                    ));
                }
                let redirect_url =
                    args.oidc_redirect_url.clone().unwrap_or_else(|| format!("{}/auth/callback", settings.public_url));
                let scopes: Vec<String> = args.oidc_scopes.split_whitespace().map(str::to_owned).collect();
                if !scopes.iter().any(|s| s == "openid") {
                    return Err("ATTEST_OIDC_SCOPES: include 'openid' (e.g. 'openid profile email')".into());
                }
                Some(OidcSettings {
                    issuer: issuer.trim_end_matches('/').to_owned(),
                    client_id: client_id.clone(),
                    client_secret: args.oidc_client_secret.clone().filter(|s| !s.is_empty()),
                    redirect_url,
                    scopes,
                    user_claims: parse_user_claims(&args.oidc_user_claim)?,
                })
            }
        };
        Ok(settings)
    }
}

/// An IP address range in CIDR notation (a single address is a range of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// The first address of the range (host bits cleared).
    network: IpAddr,
    /// Leading bits that must match.
    prefix: u8,
}

impl IpNet {
    /// Parses `10.0.0.0/8`, `192.0.2.7`, `fd00::/8` or `::1`; bits after the prefix are
    /// ignored (`10.1.2.3/8` is `10.0.0.0/8`).
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            // Digits only: `u8::from_str` would also take "+8".
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u8>().ok()?,
            Some(_) => return None,
            None => max,
        };
        if prefix > max {
            return None;
        }
        Some(Self { network: Self::masked(addr, prefix), prefix })
    }

    fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
        match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::from((u32::from(a) & mask).to_be_bytes())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::from((u128::from(a) & mask).to_be_bytes())
            }
        }
    }

    /// Whether `addr` is in the range (an IPv4 address is never in an IPv6 range, nor the
    /// other way round; IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        addr.is_ipv4() == self.network.is_ipv4() && Self::masked(addr, self.prefix) == self.network
    }
}

/// The reverse proxies whose `X-Forwarded-For` header is believed (ATTEST_TRUSTED_PROXIES);
/// empty by default, so that no client can choose the address it is known by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR ranges; the error names the
    /// variable and the entry to fix.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                IpNet::parse(entry).ok_or_else(|| {
                    let shown: String = entry.chars().take(60).filter(|c| !c.is_control()).collect();
                    format!(
                        "ATTEST_TRUSTED_PROXIES: '{shown}' is not an IP address or CIDR range; use e.g. 10.0.0.5, 10.0.0.0/8 or fd00::/8, separated by commas"
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `addr` belongs to a trusted proxy.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(addr))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses ATTEST_OIDC_USER_CLAIM.
pub fn parse_user_claims(text: &str) -> Result<Vec<UserClaim>, String> {
    let claims = text
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| match c {
            "preferred_username" => Ok(UserClaim::PreferredUsername),
            "email" => Ok(UserClaim::Email),
            "sub" => Ok(UserClaim::Subject),
            other => {
                Err(format!("ATTEST_OIDC_USER_CLAIM: unknown claim '{other}'; use preferred_username, email or sub"))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if claims.is_empty() {
        return Err("ATTEST_OIDC_USER_CLAIM: name at least one claim, e.g. preferred_username".into());
    }
    Ok(claims)
}

/// Decodes ATTEST_SESSION_KEY.
pub fn parse_session_key(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()))
        .map_err(|_| "ATTEST_SESSION_KEY: not base64; generate one with `openssl rand -base64 64`".to_owned())?;
    if key.len() < 64 {
        return Err(format!(
            "ATTEST_SESSION_KEY: {} bytes is too short; use at least 64 random bytes (`openssl rand -base64 64`)",
            key.len()
        ));
    }
    Ok(key)
}

/// Flags of `attest demo-data`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many users to generate (10 % guests); groups, apps and sign-ins scale with it.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(10..=2_000_000))]
    pub users: u32,

    /// Seed of the generator: the same seed gives the same directory.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Days of sign-in history to generate, ending now.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=730))]
    pub sign_in_days: u32,
}

/// Which database the URL names, decided by its scheme alone (SQLite would accept any
/// string as a file name, so trying connections in turn would be wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, passed to libpq as is.
    Postgres(String),
}

impl DatabaseTarget {
    /// Parses a `DATABASE_URL`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if rest.is_empty() {
                return Err("DATABASE_URL: sqlite:// needs a file path, e.g. sqlite://attest.db".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(rest)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
        Err(format!(
            "DATABASE_URL: unsupported database '{scheme}'; use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
        ))
    }

    /// A description safe for logs: never the password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite file {}", path.display()),
            Self::Postgres(url) => format!("PostgreSQL {}", redact_password(url)),
        }
    }
}

/// Hides the password of a `scheme://user:password@host` URL.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_backend_by_scheme() {
        assert_eq!(DatabaseTarget::parse("sqlite://attest.db"), Ok(DatabaseTarget::Sqlite("attest.db".into())));
        assert_eq!(DatabaseTarget::parse("sqlite:///var/a.db"), Ok(DatabaseTarget::Sqlite("/var/a.db".into())));
        assert!(matches!(DatabaseTarget::parse("postgres://u@h/db"), Ok(DatabaseTarget::Postgres(_))));
        assert!(matches!(DatabaseTarget::parse("postgresql://u@h/db"), Ok(DatabaseTarget::Postgres(_))));
        let err = DatabaseTarget::parse("mysql://root@localhost/x").unwrap_err();
        assert!(err.contains("unsupported database 'mysql'"), "{err}");
        assert!(DatabaseTarget::parse("attest.db").is_err());
        assert!(DatabaseTarget::parse("sqlite://").is_err());
    }

    #[test]
    fn session_keys_and_claims_are_checked() {
        assert!(parse_session_key("c2hvcnQ=").unwrap_err().contains("too short"));
        assert!(parse_session_key("!!!").unwrap_err().contains("not base64"));
        let long = "QUFB".repeat(22);
        assert_eq!(parse_session_key(&long).unwrap().len(), 66);
        assert_eq!(parse_user_claims("email, sub").unwrap(), vec![UserClaim::Email, UserClaim::Subject]);
        assert!(parse_user_claims("upn").unwrap_err().contains("unknown claim 'upn'"));
    }

    #[test]
    fn smtp_settings_are_checked_and_never_show_the_password() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut argv = vec!["attest", "serve"];
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Serve(args) => MailSettings::from_args(&args),
                _ => unreachable!(),
            }
        };
        assert!(parse(&[]).unwrap().smtp.is_none());
        assert!(parse(&["--smtp-host", "mail"]).unwrap_err().starts_with("ATTEST_MAIL_FROM"));
        assert!(parse(&["--smtp-tls", "ssl"]).unwrap_err().contains("unknown mode 'ssl'"));
        let s =
            parse(&["--smtp-host", "mail", "--mail-from", "a@b.c", "--smtp-user", "u", "--smtp-password", "hunter2"])
                .unwrap()
                .smtp
                .unwrap();
        assert_eq!((s.port, s.tls), (587, TlsMode::StartTls));
        assert!(!format!("{s:?}").contains("hunter2"));
        let s = parse(&["--smtp-host", "mail", "--mail-from", "a@b.c", "--smtp-tls", "tls"]).unwrap().smtp.unwrap();
        assert_eq!(s.port, 465);
    }

    #[test]
    fn trusted_proxies_are_addresses_and_ranges() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let t = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7,::1, fd00::/8 ,, 172.16.5.9/12").unwrap();
        for inside in ["10.0.0.0", "10.255.255.255", "192.0.2.7", "::1", "fd12::3", "172.31.0.1", "::ffff:10.1.2.3"] {
            assert!(t.contains(ip(inside)), "{inside}");
        }
        for outside in ["11.0.0.0", "192.0.2.8", "::2", "fe80::1", "172.32.0.1", "0.0.0.0", "::ffff:192.0.2.8"] {
            assert!(!t.contains(ip(outside)), "{outside}");
        }
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.1")));
        assert!(!TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("2001:db8::1")));
        assert!(TrustedProxies::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in [
            "proxy.example",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0",
            "10.0.0.0/-1",
        ] {
            let err = TrustedProxies::parse(&format!("127.0.0.1, {bad}")).unwrap_err();
            assert!(err.starts_with("ATTEST_TRUSTED_PROXIES: '"), "{bad}: {err}");
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn a_bad_trusted_proxy_ends_start_up_naming_the_variable() {
        use clap::Parser;
        let args =
            |value: &str| match Cli::try_parse_from(["attest", "serve", "--trusted-proxies", value]).unwrap().command {
                Command::Serve(args) => args,
                _ => unreachable!(),
            };
        assert!(
            AuthSettings::from_args(&args("10.0.0.0/8")).unwrap().trusted_proxies.contains("10.9.9.9".parse().unwrap())
        );
        let err = AuthSettings::from_args(&args("10.0.0.0/8, nginx")).unwrap_err();
        assert!(err.starts_with("ATTEST_TRUSTED_PROXIES: 'nginx'"), "{err}");
    }

    #[test]
    fn passwords_are_not_described() {
        let t = DatabaseTarget::parse("postgres://bob:hunter2@db:5432/attest").unwrap();
        assert_eq!(t.describe(), "PostgreSQL postgres://bob:***@db:5432/attest");
    }
}
