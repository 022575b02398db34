//! The `attest` command: parse flags, set up logging, run a sub-command. Every failure ends
//! in one line naming the problem and a non-zero exit.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use attest::clock::{Clock, SystemClock};
use attest::config::{
    AddLdapArgs, ApiClientCommand, AuditCommand, AuthSettings, Cli, Command, DatabaseTarget, MailSettings,
    ScimTokenCommand, SourceCommand,
};
use attest::demo::{self, DemoOptions};
use attest::service::actor::Actor;
use attest::service::import::{self, ImportFile, ImportOptions};
use attest::service::{ldap, sources};
use attest::startup::{Application, Settings};
use attest::{db, store};
use clap::Parser;
use clap::error::ErrorKind;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // clap's first line names the problem; the usage block after it is noise here.
            let text = err.render().to_string();
            let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
            eprintln!("{line} (see attest --help)");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = init_tracing(&cli.log) {
        eprintln!("error: {err}");
        return ExitCode::from(2);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("ATTEST_LOG: '{filter}' is not a log filter ({e}); try 'info'"))?;
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let database = DatabaseTarget::parse(&cli.database_url).map_err(anyhow::Error::msg)?;
    attest::auth::secrets::configure(cli.secret_key_file.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Migrate => {
            let mut conn = db::establish(&database)?;
            let applied = db::migrate(&mut conn)?;
            println!("{}: {applied} migration(s) applied; the database is up to date.", database.describe());
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            match store::audit::verify(&mut conn)? {
                store::audit::ChainCheck::Intact { events, head } => {
                    println!(
                        "{}: the audit trail is intact: {events} event(s); newest hash {head}",
                        database.describe()
                    );
                    Ok(())
                }
                store::audit::ChainCheck::Broken { id, at, reason, events_before } => anyhow::bail!(
                    "the audit trail is broken at event {id} ({at} UTC): {reason} ({events_before} earlier event(s) are intact)"
                ),
            }
        }
        Command::Apply(args) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            let by = Actor::CommandLine;
            let batch = args.batch_size as usize;
            match attest::service::apply::apply_in_batches(&mut conn, &args.instance, by, clock.now(), batch)? {
                Ok(s) => {
                    println!(
                        "review instance {}: {} removed, {} already gone, {} not supported, {} refused",
                        args.instance, s.applied, s.not_found, s.not_supported, s.refused
                    );
                    Ok(())
                }
                Err(refused) => anyhow::bail!("{}", refused.0),
            }
        }
        Command::DemoData(args) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            let existing = store::users::count(&mut conn)?;
            if existing > 0 {
                anyhow::bail!(
                    "{} already has a directory ({existing} users); demo data goes into an empty database (set DATABASE_URL to a new one)",
                    database.describe()
                );
            }
            let started = std::time::Instant::now();
            let options = DemoOptions { users: args.users as usize, seed: args.seed, sign_in_days: args.sign_in_days };
            let directory = demo::generate(options, clock.now());
            let generated = started.elapsed();
            let counts = demo::seed(&mut conn, &directory).context("writing the demo directory failed")?;
            // The same ready-to-try state as `serve --demo`: onboarded, with live reviews.
            demo::seed_reviews(&mut conn, clock.now())
                .map_err(|e| anyhow::anyhow!("seeding the demo reviews failed: {e}"))?;
            println!(
                "{}: {} users, {} groups, {} memberships, {} applications, {} app assignments, {} roles, {} role assignments, {} sign-ins in {:.2} s (generate {:.2} s, write {:.2} s)",
                database.describe(),
                counts.users,
                counts.groups,
                counts.memberships,
                counts.apps,
                counts.app_assignments,
                counts.roles,
                counts.role_assignments,
                counts.sign_ins,
                started.elapsed().as_secs_f64(),
                generated.as_secs_f64(),
                (started.elapsed() - generated).as_secs_f64(),
            );
            println!(
                "Access reviews are on, with four demo reviews running. Next: attest serve --demo \
                 (the demo people sign in from the sign-in page; without --demo, sign-in needs your identity provider: ATTEST_OIDC_ISSUER)"
            );
            Ok(())
        }
        Command::ScimToken(command) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            scim_token(&mut conn, command, clock.now())
        }
        Command::ApiClient(command) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            api_client(&mut conn, command, clock.now())
        }
        Command::Source(SourceCommand::List) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            for s in sources::overview(&mut conn)? {
                let h = s.holdings;
                let when =
                    |t: Option<chrono::NaiveDateTime>| t.map_or_else(|| "never".to_owned(), |t| format!("{t} UTC"));
                let changed = when(s.source.changed_at);
                // A pulled source also says when it last tried, and last managed, to sync.
                let synced = if s.source.kind == attest::domain::source::SourceKind::Ldap {
                    format!(
                        "; last sync {}, last good sync {}",
                        when(s.source.sync_attempted_at),
                        when(s.source.synced_at)
                    )
                } else {
                    String::new()
                };
                println!(
                    "{} ({}): {} users, {} groups, {} memberships, {} owners, {} applications, {} app assignments, {} role assignments; last change {changed}{synced}",
                    s.source.name,
                    s.source.kind.label(),
                    h.users,
                    h.groups,
                    h.memberships,
                    h.owners,
                    h.applications,
                    h.app_assignments,
                    h.role_assignments
                );
            }
            Ok(())
        }
        Command::Source(SourceCommand::AddLdap(args)) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            let input = ldap_input(&args)?;
            let row = ldap::add(&mut conn, input, Actor::CommandLine, clock.now())?;
            println!("Added the LDAP connection \"{}\". Test it with: attest source test \"{}\"", row.name, row.name);
            Ok(())
        }
        Command::Source(SourceCommand::Test { name }) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            match ldap::test(&mut conn, &name)? {
                ldap::TestOutcome::Works { users, groups } => {
                    println!("The connection works: {users} user(s) and {groups} group(s) matched on the first page.");
                    Ok(())
                }
                ldap::TestOutcome::Failed(message) => anyhow::bail!("the connection test failed: {message}"),
            }
        }
        Command::Source(SourceCommand::Sync { name, dry_run }) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            let started = std::time::Instant::now();
            let report = ldap::sync(&mut conn, &name, dry_run, Actor::CommandLine, clock.now())
                .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
            for line in report.lines() {
                println!("{line}");
            }
            let verb = if dry_run { "Dry run: nothing was written" } else { "Synced" };
            println!("{verb} (\"{}\" in {:.2} s).", report.import.source, started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Import(args) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            let files: Vec<ImportFile> = args
                .files
                .iter()
                .map(|path| ImportFile { name: path.display().to_string(), path: path.clone() })
                .collect();
            let options = ImportOptions { dry_run: args.dry_run, full: args.full };
            let started = std::time::Instant::now();
            let report = import::import(&mut conn, &args.source, &files, options, Actor::CommandLine, clock.now())
                .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
            for line in report.lines() {
                println!("{line}");
            }
            let rows: u64 = report.files.iter().map(|f| f.2).sum();
            let verb = if report.dry_run { "Dry run: nothing was written" } else { "Imported" };
            println!(
                "{verb} ({rows} lines from {} file(s) into the CSV source \"{}\" in {:.2} s).",
                report.files.len(),
                report.source,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::ImportSignIns(args) => {
            let mut conn = db::establish(&database)?;
            db::migrate(&mut conn)?;
            let mut files = Vec::new();
            for path in &args.files {
                let file = std::fs::File::open(path).with_context(|| format!("{} cannot be opened", path.display()))?;
                files.push(import::SignInFile {
                    name: path.display().to_string(),
                    read: Box::new(std::io::BufReader::new(file)),
                });
            }
            let r = import::import_sign_ins(&mut conn, files)
                .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
            println!(
                "{} line(s) read: {} sign-in(s) imported, {} already imported, {} skipped (failed or not a sign-in), {} of unknown users{}, {} to unknown applications.",
                r.read,
                r.imported,
                r.already_imported,
                r.skipped,
                r.unknown_users,
                if r.unknown_user_examples.is_empty() {
                    String::new()
                } else {
                    format!(" (such as {})", r.unknown_user_examples.join(", "))
                },
                r.unknown_apps
            );
            Ok(())
        }
        Command::Serve(args) => {
            let auth = AuthSettings::from_args(&args).map_err(anyhow::Error::msg)?;
            let mail = MailSettings::from_args(&args).map_err(anyhow::Error::msg)?;
            let settings = Settings {
                auth,
                mail,
                scheduler_interval: Some(std::time::Duration::from_secs(args.scheduler_seconds)),
                database: database.clone(),
                bind: args.bind,
                demo: args.demo,
                demo_users: args.demo_users,
                pool_size: args.pool_size,
                workers: None,
            };
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(&settings, clock)?;
                let shown = if settings.bind.ip().is_unspecified() {
                    "127.0.0.1".to_owned()
                } else {
                    settings.bind.ip().to_string()
                };
                println!(
                    "attest is running on {} — open http://{shown}:{}/ (Ctrl+C to stop)",
                    database.describe(),
                    app.port()
                );
                app.run_until_stopped().await.context("the server stopped with an error")
            })
        }
    }
}

/// `attest scim-token …`.
fn scim_token(
    conn: &mut db::DbConnection,
    command: ScimTokenCommand,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    let by = Actor::CommandLine;
    match command {
        ScimTokenCommand::Create { source, name } => {
            let (source, row, secret) = sources::create_token(conn, &source, &name, by, now)?;
            eprintln!(
                "New token \"{}\" ({}) for the SCIM source \"{}\". It is shown once; the SCIM base URL is <public URL>/scim/v2",
                row.name, row.id, source.name
            );
            println!("{secret}");
            Ok(())
        }
        ScimTokenCommand::Revoke { source, token } => {
            let source = sources::named(conn, &source)?;
            let row = sources::revoke_token(conn, &source.id, &token, by, now)?;
            println!("Revoked the token \"{}\" ({}) of \"{}\".", row.name, row.id, source.name);
            Ok(())
        }
        ScimTokenCommand::List { source } => {
            let source = sources::named(conn, &source)?;
            for t in sources::tokens(conn, &source.id)? {
                let used = t.last_used_at.map_or_else(|| "never used".to_owned(), |at| format!("last used {at} UTC"));
                let state = t.revoked_at.map_or_else(|| "live".to_owned(), |at| format!("revoked {at} UTC"));
                println!(
                    "{}  {}  created {} UTC by {}; {used}; {state}",
                    t.id, t.name, t.created_at, t.created_by_name
                );
            }
            Ok(())
        }
    }
}

/// The connection `attest source add-ldap` describes, its password read from the
/// environment variable named.
fn ldap_input(args: &AddLdapArgs) -> anyhow::Result<ldap::ConnectionInput> {
    use attest::sources::ldap::{LdapConfig, Preset, Security};
    let preset = Preset::parse(&args.preset)
        .ok_or_else(|| anyhow::anyhow!("--preset: {:?} is not a preset: use ad or openldap", args.preset))?;
    let password = match &args.password_env {
        Some(var) => Some(std::env::var(var).map_err(|_| {
            anyhow::anyhow!("--password-env: the environment variable {var} is not set (or not UTF-8)")
        })?),
        None => None,
    };
    let security = if args.url.trim().to_ascii_lowercase().starts_with("ldaps://") {
        Security::Ldaps
    } else if args.no_tls {
        Security::Plain
    } else {
        Security::StartTls
    };
    let mut mapping = preset.mapping();
    if let Some(upn) = &args.upn_attribute {
        mapping.upn = upn.clone();
    }
    Ok(ldap::ConnectionInput {
        name: args.name.clone(),
        config: LdapConfig {
            url: args.url.clone(),
            security,
            bind_dn: args.bind_dn.clone(),
            password: String::new(),
            preset,
            users_base: args.users_base.clone(),
            users_filter: args.users_filter.clone().unwrap_or_else(|| preset.users_filter().to_owned()),
            groups_base: args.groups_base.clone(),
            groups_filter: args.groups_filter.clone().unwrap_or_else(|| preset.groups_filter().to_owned()),
            mapping,
            sync_interval_minutes: args.sync_interval,
            timeout_seconds: args.timeout,
            page_size: args.page_size,
        },
        password,
    })
}

/// `attest api-client …`.
fn api_client(
    conn: &mut db::DbConnection,
    command: ApiClientCommand,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    use attest::domain::api::Permission;
    use attest::service::api_access;
    let by = Actor::CommandLine;
    match command {
        ApiClientCommand::Create { name, permission, days } => {
            let permission = Permission::parse(&permission).ok_or_else(|| {
                anyhow::anyhow!(
                    "--permission: use AccessReview.Read.All or AccessReview.ReadWrite.All, not {permission:?}"
                )
            })?;
            let (client, secret) = api_access::create_client(conn, &name, permission, Some(days), by, now)?;
            println!("client_id: {}", client.id);
            println!("client_secret: {secret}");
            println!(
                "The secret is shown once. It expires on {}. Get a token with POST /oauth2/v2.0/token \
                 (grant_type=client_credentials, scope=https://graph.microsoft.com/.default).",
                client.expires_at.map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
            );
        }
        ApiClientCommand::List => {
            for c in api_access::clients(conn)? {
                let state = if c.revoked_at.is_some() {
                    "revoked".to_owned()
                } else if c.expires_at.is_some_and(|t| t <= now) {
                    "expired".to_owned()
                } else {
                    "live".to_owned()
                };
                let used = c.last_used_at.map_or_else(|| "never used".to_owned(), |t| format!("last used {t} UTC"));
                println!("{}  {}  {}  {state}, {used}", c.id, c.name, c.permission);
            }
        }
        ApiClientCommand::Revoke { id } => {
            let client = api_access::revoke_client(conn, &id, by, now)?;
            println!("Revoked the API client {} ({}).", client.name, client.id);
        }
    }
    Ok(())
}
