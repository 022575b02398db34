//! A real OpenLDAP server for the tests: Debian's `slapd`, started on a random port with its
//! own temporary configuration and database, loaded from an LDIF fixture; and the
//! `ldap-utils` tools to look at it the way an administrator would.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The suffix of the test directory.
pub const SUFFIX: &str = "dc=example,dc=org";
/// Its administrator (the rootdn) and password.
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PASSWORD: &str = "secret";
/// The fixture: users with managers, a locked account, nested groups, a member outside
/// the bases.
pub const FIXTURE: &str = include_str!("../fixtures/ldap/directory.ldif");

/// What a test server needs besides the default schemas.
#[derive(Default)]
pub struct Options<'a> {
    /// Debian's `msuser.schema` as well: Active Directory's users and groups
    /// (userPrincipalName, userAccountControl, groupType, lastLogonTimestamp…).
    pub ad_schema: bool,
    /// Lines added to the database's configuration (e.g. `access to …` rules).
    pub config: &'a str,
}

/// A running slapd.
pub struct Slapd {
    /// `ldap://127.0.0.1:PORT`.
    pub url: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// A server program of Debian's slapd package: in /usr/sbin, which is not on every PATH.
fn sbin(tool: &str) -> String {
    let path = format!("/usr/sbin/{tool}");
    if std::path::Path::new(&path).exists() { path } else { tool.to_owned() }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Slapd {
    /// Starts a server holding `ldif` (besides the suffix's entries it must create them).
    pub fn start(ldif: &str) -> Self {
        Self::start_with(ldif, &Options::default())
    }

    /// Starts a server holding `ldif` with `options`.
    pub fn start_with(ldif: &str, options: &Options<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let conf = dir.path().join("slapd.conf");
        // Like Active Directory (MaxPageSize 1000): at most 1,000 entries to one search of a
        // bind user other than the rootdn, any number through the paged results control.
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 include /etc/ldap/schema/nis.schema\n\
                 {ad}\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 moduleload ppolicy\n\
                 pidfile {pid}\n\
                 sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited\n\
                 database mdb\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"{ADMIN_DN}\"\n\
                 rootpw {ADMIN_PASSWORD}\n\
                 directory {data}\n\
                 maxsize 4294967296\n\
                 {extra}\n\
                 overlay ppolicy\n",
                ad = if options.ad_schema { "include /etc/ldap/schema/msuser.schema\n" } else { "" },
                extra = options.config,
                pid = dir.path().join("slapd.pid").display(),
                data = data.display(),
            ),
        )
        .unwrap();
        let ldif_path = dir.path().join("load.ldif");
        std::fs::write(&ldif_path, ldif).unwrap();
        let out = Command::new(sbin("slapadd"))
            .args(["-q", "-f"])
            .arg(&conf)
            .arg("-l")
            .arg(&ldif_path)
            .output()
            .expect("slapadd runs (apt-get install slapd ldap-utils)");
        assert!(out.status.success(), "slapadd: {}", String::from_utf8_lossy(&out.stderr));
        let mut server = Slapd { url: String::new(), dir, child: None };
        server.url = format!("ldap://127.0.0.1:{}", free_port());
        server.run();
        server
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("slapd.conf")
    }

    /// Runs slapd in the foreground of a child process (`-d 0`), so that killing the child
    /// stops it, and waits until it answers.
    fn run(&mut self) {
        let child = Command::new(sbin("slapd"))
            .args(["-d", "0", "-f"])
            .arg(self.conf())
            .arg("-h")
            .arg(format!("{}/", self.url))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd starts");
        self.child = Some(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            let out = self.ldap("ldapsearch", &["-b", SUFFIX, "-s", "base", "1.1"], None);
            if out.status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("slapd did not answer on {}", self.url);
    }

    /// Stops the server (its data stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    fn ldap(&self, tool: &str, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut cmd = Command::new(tool);
        cmd.args(["-x", "-H", &self.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD]);
        if tool == "ldapsearch" {
            cmd.args(["-LLL", "-o", "ldif-wrap=no"]);
        }
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("ldap-utils are installed");
        if let Some(text) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// The values of `attr` of the entry `dn`, as `ldapsearch` prints them.
    pub fn values(&self, dn: &str, attr: &str) -> Vec<String> {
        let out = self.ldap("ldapsearch", &["-b", dn, "-s", "base", "(objectClass=*)", attr], None);
        assert!(out.status.success(), "ldapsearch: {}", String::from_utf8_lossy(&out.stderr));
        let prefix = format!("{attr}: ");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    /// Applies an LDIF change with `ldapmodify`, as an administrator would by hand.
    pub fn modify(&self, ldif: &str) {
        let out = self.ldap("ldapmodify", &[], Some(ldif));
        assert!(out.status.success(), "ldapmodify: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A bind user that is not the rootdn: the server's limits and access rules apply to it
/// (the rootdn is exempt from both).
pub const READER_DN: &str = "cn=reader,dc=example,dc=org";
pub const READER_PASSWORD: &str = "reader-secret";

/// The LDIF of [`READER_DN`], to append to a fixture.
pub fn reader_entry() -> String {
    format!("\ndn: {READER_DN}\nobjectClass: person\ncn: reader\nsn: reader\nuserPassword: {READER_PASSWORD}\n")
}

impl Slapd {
    /// Runs `ldapsearch` bound as `dn` with `password` (`-LLL`, no wrapping) with `args`.
    pub fn search_as(&self, dn: &str, password: &str, args: &[&str]) -> std::process::Output {
        Command::new("ldapsearch")
            .args(["-x", "-H", &self.url, "-D", dn, "-w", password, "-LLL", "-o", "ldif-wrap=no"])
            .args(args)
            .output()
            .expect("ldap-utils are installed")
    }
}
