//! A deterministic, realistic demo directory: a manager hierarchy across departments,
//! guests, disabled accounts, security / Microsoft 365 / dynamic / nested / synced groups,
//! applications with owners and assignments, directory and resource roles, and sign-ins in
//! which about a fifth of the users have been inactive for over 30 days.
//!
//! [`generate`] is pure (a seed and a time in, rows out); [`seed`] writes the rows in
//! batches inside one transaction, so a failed run leaves nothing behind.

mod names;

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, TimeDelta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::DbConnection;
use crate::domain::apply::GLOBAL_ADMINISTRATOR;
use crate::domain::directory::{AssignmentType, GroupType, RoleKind, UserType, clean_display_text};
use crate::domain::recurrence::Frequency;
use crate::domain::review::{ReviewerKind, ScopeKind, UserScopeKind};
use crate::service::actor::Actor;
use crate::store;
use crate::store::apps::{AppRow, NewAssignment};
use crate::store::groups::GroupRow;
use crate::store::roles::{AssignmentRow, RoleRow};
use crate::store::sign_ins::NewSignIn;
use crate::store::users::UserRow;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Number of users (10 % guests).
    pub users: usize,
    /// Generator seed.
    pub seed: u64,
    /// Days of sign-in history ending at `now`.
    pub sign_in_days: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { users: 500, seed: 42, sign_in_days: 90 }
    }
}

/// The name of the demo directory.
pub const DIRECTORY_NAME: &str = "Contoso (demo)";
/// The domain of the demo directory's users.
pub const DOMAIN: &str = "contoso.example";

/// The fixed people a demo visitor signs in as; always generated first, with these UPNs.
pub mod personas {
    /// A Global Administrator.
    pub const ADMIN: &str = "dana.whitfield@contoso.example";
    /// The owner of a Microsoft 365 group with guests.
    pub const OWNER: &str = "omar.haddad@contoso.example";
    /// A manager with direct reports.
    pub const MANAGER: &str = "priya.raman@contoso.example";
    /// A guest from a partner organisation.
    pub const GUEST: &str = "lena.fischer_fabrikam.example#EXT#@contoso.example";
    /// An ordinary member with no special rights.
    pub const USER: &str = "tom.becker@contoso.example";

    /// (key, UPN, who they are) of each persona, in the order the sign-in page lists them.
    pub const ALL: &[(&str, &str, &str)] = &[
        ("admin", ADMIN, "Global Administrator: onboarding, every review, the directory"),
        ("owner", OWNER, "Owner of the Project Falcon Microsoft 365 group, which has guests"),
        ("manager", MANAGER, "Sales Director with direct reports"),
        ("guest", GUEST, "A guest from Fabrikam, a partner organisation"),
        ("user", USER, "An ordinary member of Customer Support"),
    ];
}

/// A generated directory, ready to insert.
#[derive(Debug, Default)]
pub struct DemoDirectory {
    pub users: Vec<UserRow>,
    pub groups: Vec<GroupRow>,
    pub group_owners: Vec<(String, String)>,
    pub group_member_users: Vec<(String, String)>,
    pub group_member_groups: Vec<(String, String)>,
    pub apps: Vec<AppRow>,
    pub app_owners: Vec<(String, String)>,
    pub app_user_assignments: Vec<NewAssignment>,
    pub app_group_assignments: Vec<NewAssignment>,
    pub roles: Vec<RoleRow>,
    pub role_assignments: Vec<AssignmentRow>,
    pub sign_ins: Vec<NewSignIn>,
}

/// How many rows of each kind were written.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedCounts {
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    pub apps: usize,
    pub app_assignments: usize,
    pub roles: usize,
    pub role_assignments: usize,
    pub sign_ins: usize,
}

struct Gen {
    rng: StdRng,
    now: NaiveDateTime,
}

impl Gen {
    fn id(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid().to_string()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // Callers pass non-empty constant lists.
        &items[self.rng.random_range(0..items.len())]
    }

    fn days_ago(&mut self, min: i64, max: i64) -> NaiveDateTime {
        let secs = self.rng.random_range(min * 86_400..=max * 86_400);
        self.now - TimeDelta::seconds(secs)
    }
}

/// Users of one department, as indexes into the users list.
struct Department {
    name: &'static str,
    members: Vec<usize>,
    head: usize,
}

/// Generates a directory. The same options and `now` always give the same directory.
pub fn generate(options: DemoOptions, now: NaiveDateTime) -> DemoDirectory {
    let mut g = Gen { rng: StdRng::seed_from_u64(options.seed), now };
    let mut d = DemoDirectory::default();
    let total = options.users.max(10);
    let guests = total / 10;
    let members = total - guests;

    // People. Personas first, at fixed UPNs, then generated names.
    let mut upns: HashSet<String> = HashSet::new();
    let mut dept_of: Vec<Option<usize>> = Vec::with_capacity(total);
    let persona_people: [(&str, &str, Option<&str>, &str); 6] = [
        ("Grace", "Okafor", Some("Executive"), "Chief Executive Officer"),
        ("Dana", "Whitfield", Some("IT"), "Director of IT"),
        ("Omar", "Haddad", Some("Marketing"), "Product Marketing Lead"),
        ("Priya", "Raman", Some("Sales"), "Sales Director"),
        ("Tom", "Becker", Some("Customer Support"), "Support Specialist"),
        ("Lena", "Fischer", None, ""),
    ];
    for (first, last, dept, title) in persona_people {
        let guest = dept.is_none();
        let upn = if guest {
            personas::GUEST.to_owned()
        } else {
            format!("{}.{}@{DOMAIN}", first.to_lowercase(), last.to_lowercase())
        };
        upns.insert(upn.clone());
        let id = g.id();
        d.users.push(UserRow {
            id,
            mail: Some(if guest { "lena.fischer@fabrikam.example".into() } else { upn.clone() }),
            upn,
            display_name: format!("{first} {last}"),
            user_type: if guest { UserType::Guest } else { UserType::Member },
            enabled: true,
            manager_id: None,
            department: dept.map(Into::into),
            job_title: (!title.is_empty()).then(|| title.to_owned()),
            created_at: g.days_ago(400, 1400),
            last_sign_in_at: None,
        });
        dept_of.push(dept.and_then(|name| names::DEPARTMENTS.iter().position(|(n, _, _)| *n == name)));
    }
    let persona_guests = 1;
    while d.users.len() < total {
        let guest = d.users.len() >= members + persona_guests;
        let first = *g.pick(names::FIRST);
        let last = *g.pick(names::LAST);
        let (upn, mail) = if guest {
            let org = *g.pick(names::PARTNERS);
            let base = upn_local(first, last);
            let mut n = 1;
            let mut local = base.clone();
            while upns.contains(&format!("{local}_{org}#EXT#@{DOMAIN}")) {
                n += 1;
                local = format!("{base}{n}");
            }
            (format!("{local}_{org}#EXT#@{DOMAIN}"), format!("{local}@{org}"))
        } else {
            let base = upn_local(first, last);
            let mut n = 1;
            let mut upn = format!("{base}@{DOMAIN}");
            while upns.contains(&upn) {
                n += 1;
                upn = format!("{base}{n}@{DOMAIN}");
            }
            (upn.clone(), upn)
        };
        upns.insert(upn.clone());
        let dept = if guest { None } else { Some(weighted_department(&mut g)) };
        let title = dept.map(|i| (*g.pick(names::DEPARTMENTS[i].2)).to_owned());
        // A few recently created accounts: inactive-user reviews must leave them out.
        let created_at = if g.rng.random_bool(0.02) { g.days_ago(1, 14) } else { g.days_ago(30, 1500) };
        let id = g.id();
        d.users.push(UserRow {
            id,
            upn,
            display_name: format!("{first} {last}"),
            mail: Some(mail),
            user_type: if guest { UserType::Guest } else { UserType::Member },
            enabled: guest || !g.rng.random_bool(0.02),
            manager_id: None,
            department: dept.map(|i| names::DEPARTMENTS[i].0.to_owned()),
            job_title: title,
            created_at,
            last_sign_in_at: None,
        });
        dept_of.push(dept);
    }

    // Manager hierarchy: CEO → department heads → team managers → staff.
    let mut departments: Vec<Department> = names::DEPARTMENTS
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| Department {
            name,
            members: (0..d.users.len()).filter(|&u| dept_of[u] == Some(i)).collect(),
            head: 0,
        })
        .collect();
    let ceo = 0;
    for dept in &mut departments {
        if dept.members.is_empty() {
            continue;
        }
        // Personas lead their departments where they have one, so they have reports.
        // The ordinary-user persona (index 4) must stay ordinary: never a head.
        dept.head = dept
            .members
            .iter()
            .copied()
            .find(|&u| (1..=3).contains(&u))
            .or_else(|| dept.members.iter().copied().find(|&u| u > 5))
            .unwrap_or(dept.members[0]);
        if dept.head != ceo {
            d.users[dept.head].manager_id = Some(d.users[ceo].id.clone());
            if dept.head > 5 {
                d.users[dept.head].job_title = Some(format!("Head of {}", dept.name));
            }
        }
        let staff: Vec<usize> = dept.members.iter().copied().filter(|&u| u != dept.head && u != ceo).collect();
        let managers: Vec<usize> = staff.iter().copied().filter(|&u| u != 4).step_by(9).collect();
        for &m in &managers {
            d.users[m].manager_id = Some(d.users[dept.head].id.clone());
            if m > 5 {
                d.users[m].job_title = Some(format!("{} Manager", dept.name));
            }
        }
        for (i, &u) in staff.iter().enumerate() {
            if managers.contains(&u) {
                continue;
            }
            // Every tenth person lacks a manager: manager reviews need fallback reviewers.
            if i % 10 == 7 {
                continue;
            }
            let m = if u == 4 || managers.is_empty() { dept.head } else { managers[i / 9 % managers.len()] };
            d.users[u].manager_id = Some(d.users[m].id.clone());
        }
    }

    build_groups(&mut g, &mut d, &departments);
    build_apps(&mut g, &mut d);
    build_roles(&mut g, &mut d, &departments);
    build_sign_ins(&mut g, &mut d, options.sign_in_days);
    let mut last: HashMap<&str, NaiveDateTime> = HashMap::new();
    for s in &d.sign_ins {
        let at = last.entry(s.user_id.as_str()).or_insert(s.signed_in_at);
        *at = (*at).max(s.signed_in_at);
    }
    let last: HashMap<String, NaiveDateTime> = last.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for user in &mut d.users {
        user.last_sign_in_at = last.get(&user.id).copied();
    }
    managers_first(&mut d.users);
    // Inserting in key order appends to the indexes instead of scattering writes over them.
    d.group_member_users.sort_unstable();
    d.sign_ins.sort_unstable_by(|a, b| (&a.user_id, a.signed_in_at).cmp(&(&b.user_id, b.signed_in_at)));
    clean_names(&mut d);
    d
}

/// Passes every name through [`clean_display_text`], the one way in for directory text:
/// generated names are clean already, but the demo is where importers copy from.
fn clean_names(d: &mut DemoDirectory) {
    let clean = |text: &mut String| *text = clean_display_text(text);
    for user in &mut d.users {
        clean(&mut user.display_name);
        user.department.iter_mut().for_each(clean);
        user.job_title.iter_mut().for_each(clean);
    }
    d.groups.iter_mut().for_each(|g| clean(&mut g.display_name));
    d.apps.iter_mut().for_each(|a| clean(&mut a.display_name));
    d.roles.iter_mut().for_each(|r| clean(&mut r.display_name));
}

/// Orders users so that every manager comes before their reports: batches are inserted in
/// order and the manager reference must already exist.
fn managers_first(users: &mut [UserRow]) {
    let manager_of: HashMap<String, Option<String>> =
        users.iter().map(|u| (u.id.clone(), u.manager_id.clone())).collect();
    let depth = |id: &str| {
        let mut depth = 0;
        let mut at = manager_of.get(id).cloned().flatten();
        while let Some(m) = at {
            depth += 1;
            if depth > MAX_DEPTH {
                break;
            }
            at = manager_of.get(&m).cloned().flatten();
        }
        depth
    };
    let depths: HashMap<String, usize> = users.iter().map(|u| (u.id.clone(), depth(&u.id))).collect();
    users.sort_by_key(|u| depths.get(&u.id).copied().unwrap_or(0));
}

/// The hierarchy is a few levels deep; a longer chain would be a cycle.
const MAX_DEPTH: usize = 64;

/// "first.last" in lower-case ASCII: UPNs allow no accents, spaces or apostrophes.
fn upn_local(first: &str, last: &str) -> String {
    let fold = |name: &str| -> String {
        name.to_lowercase()
            .chars()
            .filter_map(|c| match c {
                'á' | 'à' | 'ã' | 'â' | 'ä' => Some('a'),
                'é' | 'è' | 'ê' => Some('e'),
                'í' | 'ï' => Some('i'),
                'ó' | 'ô' | 'ö' | 'ø' => Some('o'),
                'ú' | 'ü' => Some('u'),
                'ç' => Some('c'),
                c if c.is_ascii_alphanumeric() => Some(c),
                _ => None,
            })
            .collect()
    };
    format!("{}.{}", fold(first), fold(last))
}

fn weighted_department(g: &mut Gen) -> usize {
    let total: u32 = names::DEPARTMENTS.iter().map(|(_, w, _)| *w).sum();
    let mut roll = g.rng.random_range(0..total);
    for (i, (_, weight, _)) in names::DEPARTMENTS.iter().enumerate() {
        if roll < *weight {
            return i;
        }
        roll -= weight;
    }
    0
}

/// Adds a group and returns its index.
fn add_group(g: &mut Gen, d: &mut DemoDirectory, spec: GroupSpec<'_>) -> usize {
    let id = g.id();
    d.groups.push(GroupRow {
        id,
        display_name: spec.name.to_owned(),
        description: Some(spec.description.to_owned()),
        group_type: if spec.m365 { GroupType::Microsoft365 } else { GroupType::Security },
        membership_rule: spec.rule.map(Into::into),
        on_premises_sync: spec.synced,
        mail_enabled: spec.m365 || spec.mail_enabled,
        created_at: g.days_ago(200, 1500),
    });
    d.groups.len() - 1
}

struct GroupSpec<'a> {
    name: &'a str,
    description: &'a str,
    m365: bool,
    rule: Option<&'a str>,
    synced: bool,
    mail_enabled: bool,
}

impl<'a> GroupSpec<'a> {
    fn security(name: &'a str, description: &'a str) -> Self {
        Self { name, description, m365: false, rule: None, synced: false, mail_enabled: false }
    }
    fn m365(name: &'a str, description: &'a str) -> Self {
        Self { m365: true, ..Self::security(name, description) }
    }
}

fn add_members(d: &mut DemoDirectory, group: usize, users: impl IntoIterator<Item = usize>) {
    let gid = d.groups[group].id.clone();
    let mut seen = HashSet::new();
    for u in users {
        if seen.insert(u) {
            d.group_member_users.push((gid.clone(), d.users[u].id.clone()));
        }
    }
}

fn add_owners(d: &mut DemoDirectory, group: usize, users: &[usize]) {
    let gid = d.groups[group].id.clone();
    let mut seen = HashSet::new();
    for &u in users {
        if seen.insert(u) {
            d.group_owners.push((gid.clone(), d.users[u].id.clone()));
        }
    }
}

fn nest(d: &mut DemoDirectory, parent: usize, child: usize) {
    d.group_member_groups.push((d.groups[parent].id.clone(), d.groups[child].id.clone()));
}

/// A random sample of `share` of `from`, in order.
fn sample(g: &mut Gen, from: &[usize], share: f64) -> Vec<usize> {
    from.iter().copied().filter(|_| g.rng.random_bool(share.clamp(0.0, 1.0))).collect()
}

fn build_groups(g: &mut Gen, d: &mut DemoDirectory, departments: &[Department]) {
    let members: Vec<usize> = (0..d.users.len()).filter(|&u| d.users[u].user_type == UserType::Member).collect();
    let guests: Vec<usize> = (0..d.users.len()).filter(|&u| d.users[u].user_type == UserType::Guest).collect();
    let dept = |name: &str| departments.iter().find(|x| x.name == name).map(|x| x.members.clone()).unwrap_or_default();
    let head = |name: &str| departments.iter().find(|x| x.name == name).map_or(0, |x| x.head);

    // One security group per department, owned by its head.
    for x in departments.iter().filter(|x| !x.members.is_empty() && x.name != "Executive") {
        let name = format!("{} Team", x.name);
        let description = format!("Everyone in {}.", x.name);
        let i = add_group(g, d, GroupSpec::security(&name, &description));
        add_members(d, i, x.members.iter().copied());
        add_owners(d, i, &[x.head]);
    }

    // Dynamic groups: members are the rule's result.
    let all = add_group(
        g,
        d,
        GroupSpec {
            rule: Some("(user.userType -eq \"Member\") and (user.accountEnabled -eq true)"),
            ..GroupSpec::security("All Employees", "Every enabled member account (dynamic).")
        },
    );
    let enabled_members: Vec<usize> = members.iter().copied().filter(|&u| d.users[u].enabled).collect();
    add_members(d, all, enabled_members.iter().copied());
    add_owners(d, all, &[1]);
    let sales_dyn = add_group(
        g,
        d,
        GroupSpec {
            rule: Some("user.department -eq \"Sales\""),
            ..GroupSpec::security("Sales – Dynamic", "Everyone whose department is Sales (dynamic).")
        },
    );
    add_members(d, sales_dyn, dept("Sales"));

    // Nesting: Engineering All ⊃ Backend, Frontend, Platform ⊃ SRE On-call.
    let eng = dept("Engineering");
    let eng_all = add_group(g, d, GroupSpec::security("Engineering All", "All engineering teams (nested groups)."));
    let backend = add_group(g, d, GroupSpec::security("Backend Developers", "Backend services team."));
    let frontend = add_group(g, d, GroupSpec::security("Frontend Developers", "Web and mobile front ends."));
    let platform = add_group(g, d, GroupSpec::security("Platform Team", "Cloud platform and infrastructure."));
    let sre = add_group(g, d, GroupSpec::security("SRE On-call", "Site reliability on-call rotation."));
    let (mut b, mut f, mut p) = (Vec::new(), Vec::new(), Vec::new());
    for (i, &u) in eng.iter().enumerate() {
        match i % 3 {
            0 => b.push(u),
            1 => f.push(u),
            _ => p.push(u),
        }
    }
    let oncall = sample(g, &p, 0.3);
    add_members(d, backend, b);
    add_members(d, frontend, f);
    add_members(d, platform, p);
    add_members(d, sre, oncall);
    add_members(d, eng_all, [head("Engineering")]);
    nest(d, eng_all, backend);
    nest(d, eng_all, frontend);
    nest(d, eng_all, platform);
    nest(d, platform, sre);
    for grp in [eng_all, backend, frontend, platform] {
        add_owners(d, grp, &[head("Engineering")]);
    }
    // SRE On-call has no owner: owner reviews of it need a fallback reviewer.

    // Synced from on-premises Active Directory.
    for (name, from, share) in [
        ("SG-Finance-Readers", "Finance", 0.8),
        ("SG-VPN-Users", "", 0.35),
        ("SG-FileShare-HR", "Human Resources", 0.9),
    ] {
        let description = format!("Synchronized from on-premises Active Directory ({name}).");
        let i = add_group(g, d, GroupSpec { synced: true, ..GroupSpec::security(name, &description) });
        let pool = if from.is_empty() { members.clone() } else { dept(from) };
        let picked = sample(g, &pool, share);
        add_members(d, i, picked);
    }

    // Microsoft 365 groups with guests.
    let falcon = add_group(
        g,
        d,
        GroupSpec::m365("Project Falcon", "Launch of the Falcon product line with our agency partners."),
    );
    let mkt = dept("Marketing");
    let mut falcon_members = vec![2, 5];
    falcon_members.extend(sample(g, &mkt, 0.4));
    falcon_members.extend(sample(g, &guests, 0.15));
    add_members(d, falcon, falcon_members);
    add_owners(d, falcon, &[2]);
    for (name, description, from, guest_share) in [
        ("Partner Portal Launch", "Joint launch team with Fabrikam and Northwind.", "Sales", 0.1),
        ("Vendor Collaboration – Fabrikam", "Shared workspace with Fabrikam.", "Operations", 0.1),
        ("Marketing Agency Collab", "Campaign work with external agencies.", "Marketing", 0.12),
        ("Customer Advisory Board", "Customers who advise on the roadmap.", "Customer Support", 0.08),
        ("Board Communications", "Board of directors and executive staff.", "Executive", 0.02),
        ("Research Partnerships", "University research collaborations.", "Engineering", 0.05),
    ] {
        let i = add_group(g, d, GroupSpec::m365(name, description));
        let pool = dept(from);
        let mut picked = sample(g, &pool, 0.3);
        picked.extend(sample(g, &guests, guest_share));
        add_members(d, i, picked);
        add_owners(d, i, &[head(from)]);
    }

    // Ordinary security groups for access to things.
    let it = dept("IT");
    let fin = dept("Finance");
    for (name, description, pool, share, owner) in [
        ("VPN Users", "Remote access VPN.", members.clone(), 0.5, head("IT")),
        ("Privileged Access Workstations", "Hardened admin workstations.", it.clone(), 0.4, head("IT")),
        ("Finance Approvers", "Approve invoices over 10,000.", fin.clone(), 0.2, head("Finance")),
        ("HR Confidential", "Access to personnel files.", dept("Human Resources"), 0.5, head("Human Resources")),
        ("GitHub Admins", "Organization owners in GitHub Enterprise.", eng.clone(), 0.03, head("Engineering")),
        ("Salesforce Admins", "Salesforce system administrators.", dept("Sales"), 0.03, head("Sales")),
        ("Travel Approvers", "Approve business travel.", members.clone(), 0.04, head("Operations")),
        ("Contractors", "External contractors with member accounts.", members.clone(), 0.05, head("Human Resources")),
        ("Office – London", "People based in London.", members.clone(), 0.2, head("Operations")),
        ("Office – New York", "People based in New York.", members.clone(), 0.25, head("Operations")),
        ("Office – Singapore", "People based in Singapore.", members.clone(), 0.1, head("Operations")),
        ("Legacy Intranet Users", "Users of the old intranet (to be retired).", members.clone(), 0.08, head("IT")),
        ("Security Champions", "Security advocates across teams.", members.clone(), 0.02, head("IT")),
        ("Data Warehouse Readers", "Read access to the data warehouse.", members.clone(), 0.1, head("Finance")),
    ] {
        let i = add_group(g, d, GroupSpec::security(name, description));
        let picked = sample(g, &pool, share);
        add_members(d, i, picked);
        // Legacy Intranet Users has lost its owner over time.
        if name != "Legacy Intranet Users" {
            add_owners(d, i, &[owner]);
        }
    }
    if let Some(&tom) = members.get(4) {
        let vpn = d.groups.iter().position(|x| x.display_name == "VPN Users").unwrap_or(0);
        add_members(d, vpn, [tom]);
    }

    // Bigger directories get more project groups.
    for n in 0..d.users.len() / 2000 {
        let name =
            format!("Project {} {}", names::CODENAMES[n % names::CODENAMES.len()], n / names::CODENAMES.len() + 1);
        let i = add_group(g, d, GroupSpec::m365(&name, "Project workspace."));
        let size = g.rng.random_range(10..60);
        let picked: Vec<usize> = (0..size).map(|_| g.rng.random_range(0..d.users.len())).collect();
        let owner = picked[0];
        add_members(d, i, picked);
        add_owners(d, i, &[owner]);
    }
    // Duplicate (group, user) pairs can come from the Tom special case above.
    let mut seen = HashSet::new();
    d.group_member_users.retain(|pair| seen.insert(pair.clone()));
}

/// (name, assignment required, groups assigned, department of direct users, share of it,
/// department of the owners).
type AppSpec = (&'static str, bool, &'static [&'static str], &'static str, f64, &'static str);

fn build_apps(g: &mut Gen, d: &mut DemoDirectory) {
    let group = |d: &DemoDirectory, name: &str| d.groups.iter().position(|x| x.display_name == name);
    let members: Vec<usize> = (0..d.users.len()).filter(|&u| d.users[u].user_type == UserType::Member).collect();
    let by_dept = |d: &DemoDirectory, name: &str| -> Vec<usize> {
        (0..d.users.len()).filter(|&u| d.users[u].department.as_deref() == Some(name)).collect()
    };
    // (name, assignment required, groups assigned, department for direct users, share, owner department)
    let specs: [AppSpec; 16] = [
        ("Salesforce", true, &["Sales Team"], "Sales", 0.1, "Sales"),
        ("Workday", true, &["All Employees"], "", 0.0, "Human Resources"),
        ("ServiceNow", true, &["IT Team", "Customer Support Team"], "", 0.0, "IT"),
        ("GitHub Enterprise", true, &["Engineering All"], "Engineering", 0.02, "Engineering"),
        ("Slack", true, &["All Employees"], "", 0.0, "IT"),
        ("Zoom", false, &[], "", 0.3, "IT"),
        ("Jira", true, &["Engineering All"], "Operations", 0.2, "Engineering"),
        ("Confluence", true, &["Engineering All", "Marketing Team"], "", 0.0, "Engineering"),
        ("AWS Console", true, &["Platform Team"], "Engineering", 0.03, "Engineering"),
        ("Tableau", true, &["Finance Team"], "Sales", 0.05, "Finance"),
        ("DocuSign", true, &["Legal Team"], "Sales", 0.1, "Legal"),
        ("Adobe Creative Cloud", true, &[], "Marketing", 0.6, "Marketing"),
        ("Figma", true, &["Frontend Developers"], "Marketing", 0.3, "Engineering"),
        ("Zendesk", true, &["Customer Support Team"], "", 0.0, "Customer Support"),
        ("NetSuite", true, &[], "Finance", 0.7, "Finance"),
        ("Greenhouse Recruiting", true, &["Human Resources Team"], "", 0.0, ""),
    ];
    for (name, required, groups, dept, share, owner_dept) in specs {
        let id = g.id();
        let app_id = g.id();
        d.apps.push(AppRow {
            id: id.clone(),
            app_id,
            display_name: name.to_owned(),
            assignment_required: required,
            homepage: Some(format!("https://{}.example/", name.to_lowercase().replace(' ', "-"))),
            created_at: g.days_ago(100, 1200),
        });
        for gname in groups {
            if let Some(gi) = group(d, gname) {
                let at = g.days_ago(30, 600);
                d.app_group_assignments.push(NewAssignment {
                    app_id: id.clone(),
                    principal_id: d.groups[gi].id.clone(),
                    app_role: "Default Access".into(),
                    created_at: at,
                });
            }
        }
        let pool = if dept.is_empty() { members.clone() } else { by_dept(d, dept) };
        let direct = if share > 0.0 { sample(g, &pool, share) } else { Vec::new() };
        for (k, u) in direct.into_iter().enumerate() {
            let at = g.days_ago(5, 700);
            d.app_user_assignments.push(NewAssignment {
                app_id: id.clone(),
                principal_id: d.users[u].id.clone(),
                app_role: if k % 15 == 0 { "Administrator" } else { "User" }.into(),
                created_at: at,
            });
        }
        // Greenhouse Recruiting has no owner: app-owner reviews need a fallback.
        if !owner_dept.is_empty() {
            let owners = by_dept(d, owner_dept);
            for &o in owners.iter().take(2) {
                d.app_owners.push((id.clone(), d.users[o].id.clone()));
            }
        }
    }
}

fn build_roles(g: &mut Gen, d: &mut DemoDirectory, departments: &[Department]) {
    for &(name, description, privileged) in names::DIRECTORY_ROLES {
        let id = g.id();
        d.roles.push(RoleRow {
            id,
            display_name: name.into(),
            description: description.into(),
            role_kind: RoleKind::Directory,
            privileged,
        });
    }
    for &(name, description, privileged) in names::RESOURCE_ROLES {
        let id = g.id();
        d.roles.push(RoleRow {
            id,
            display_name: name.into(),
            description: description.into(),
            role_kind: RoleKind::Resource,
            privileged,
        });
    }
    let role = |d: &DemoDirectory, name: &str| d.roles.iter().position(|r| r.display_name == name).unwrap_or(0);
    let it: Vec<usize> = departments.iter().find(|x| x.name == "IT").map(|x| x.members.clone()).unwrap_or_default();
    let eng: Vec<usize> =
        departments.iter().find(|x| x.name == "Engineering").map(|x| x.members.clone()).unwrap_or_default();
    let mut seen: HashSet<(usize, usize, String, AssignmentType)> = HashSet::new();
    let mut assign = |g: &mut Gen,
                      d: &mut DemoDirectory,
                      r: usize,
                      u: usize,
                      scope: (&str, &str),
                      eligible: bool,
                      end: Option<i64>| {
        let kind = if eligible { AssignmentType::Eligible } else { AssignmentType::Active };
        if !seen.insert((r, u, scope.0.to_owned(), kind)) {
            return;
        }
        let start = g.days_ago(60, 900);
        let id = g.id();
        d.role_assignments.push(AssignmentRow {
            id,
            role_id: d.roles[r].id.clone(),
            user_id: d.users[u].id.clone(),
            scope: scope.0.into(),
            scope_name: scope.1.into(),
            assignment_type: kind,
            start_at: start,
            end_at: end.map(|days| g.now + TimeDelta::days(days)),
        });
    };
    let tenant = ("/", "Directory");
    let ga = role(d, "Global Administrator");
    assign(g, d, ga, 1, tenant, false, None);
    let it_pick = |k: usize| it.get(k).copied().unwrap_or(1);
    assign(g, d, ga, it_pick(1), tenant, false, None);
    assign(g, d, ga, it_pick(2), tenant, true, Some(180));
    assign(g, d, role(d, "Privileged Role Administrator"), it_pick(1), tenant, false, None);
    assign(g, d, role(d, "User Administrator"), it_pick(3), tenant, false, None);
    assign(g, d, role(d, "User Administrator"), it_pick(4), tenant, true, Some(90));
    assign(g, d, role(d, "Identity Governance Administrator"), it_pick(5), tenant, false, None);
    assign(g, d, role(d, "Security Administrator"), it_pick(6), tenant, false, None);
    assign(g, d, role(d, "Security Administrator"), it_pick(7), tenant, true, None);
    assign(g, d, role(d, "Exchange Administrator"), it_pick(8), tenant, false, Some(-10));
    assign(g, d, role(d, "SharePoint Administrator"), it_pick(9), tenant, true, Some(365));
    assign(g, d, role(d, "Application Administrator"), it_pick(10), tenant, false, None);
    assign(g, d, role(d, "Billing Administrator"), 3, tenant, true, None);
    for k in 11..16 {
        assign(g, d, role(d, "Helpdesk Administrator"), it_pick(k), tenant, k % 2 == 0, None);
    }
    for k in 16..19 {
        assign(g, d, role(d, "Global Reader"), it_pick(k), tenant, false, None);
    }

    // Azure resource roles on subscriptions and resource groups.
    let subs: Vec<(String, &str)> = ["Production", "Development", "Data Platform"]
        .into_iter()
        .map(|name| (format!("/subscriptions/{}", g.id()), name))
        .collect();
    let mut scopes: Vec<(String, String)> = Vec::new();
    for (sub, name) in &subs {
        scopes.push((sub.clone(), format!("{name} (subscription)")));
        for rg in ["rg-web", "rg-data", "rg-network"] {
            scopes.push((format!("{sub}/resourceGroups/{rg}"), format!("{rg} ({name})")));
        }
    }
    let count = (d.users.len() / 25).max(8);
    for k in 0..count {
        let Some(&u) = eng.get(g.rng.random_range(0..eng.len().max(1))) else {
            break;
        };
        let (scope, scope_name) = &scopes[k % scopes.len()];
        let name = *g.pick(&["Owner", "Contributor", "Contributor", "Reader", "Reader", "User Access Administrator"]);
        let r = role(d, name);
        let eligible = g.rng.random_bool(0.3);
        let end = g.rng.random_bool(0.2).then(|| g.rng.random_range(-30..200));
        assign(g, d, r, u, (scope, scope_name), eligible, end);
    }
}

fn build_sign_ins(g: &mut Gen, d: &mut DemoDirectory, days: u32) {
    let days = i64::from(days);
    // The apps each user can reach: direct assignments plus those of their groups,
    // nested groups included.
    let user_index: HashMap<&str, usize> = d.users.iter().enumerate().map(|(i, u)| (u.id.as_str(), i)).collect();
    let app_index: HashMap<&str, usize> = d.apps.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    let mut user_apps: Vec<Vec<usize>> = vec![Vec::new(); d.users.len()];
    for a in &d.app_user_assignments {
        if let (Some(&u), Some(&app)) = (user_index.get(a.principal_id.as_str()), app_index.get(a.app_id.as_str())) {
            user_apps[u].push(app);
        }
    }
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for (parent, child) in &d.group_member_groups {
        children.entry(parent.as_str()).or_default().push(child.as_str());
    }
    let mut group_apps: HashMap<&str, Vec<usize>> = HashMap::new();
    for a in &d.app_group_assignments {
        let Some(&app) = app_index.get(a.app_id.as_str()) else {
            continue;
        };
        let mut stack = vec![a.principal_id.as_str()];
        while let Some(gid) = stack.pop() {
            group_apps.entry(gid).or_default().push(app);
            stack.extend(children.get(gid).into_iter().flatten().copied());
        }
    }
    for (gid, uid) in &d.group_member_users {
        if let (Some(apps), Some(&u)) = (group_apps.get(gid.as_str()), user_index.get(uid.as_str())) {
            user_apps[u].extend(apps.iter().copied());
        }
    }
    let app_ids: Vec<String> = d.apps.iter().map(|a| a.id.clone()).collect();
    for (u, apps) in user_apps.iter_mut().enumerate() {
        apps.sort_unstable();
        apps.dedup();
        let user = &d.users[u];
        let guest = user.user_type == UserType::Guest;
        let account_age = (g.now - user.created_at).num_days();
        // Personas are always active, so the demo's reviewers look like real users.
        let inactive = u > 5 && (!user.enabled || g.rng.random_bool(if guest { 0.4 } else { 0.17 }));
        let never = inactive && g.rng.random_bool(0.15);
        if never {
            continue;
        }
        let newest = if inactive { 31 } else { 0 };
        let oldest = days.min(account_age.max(0));
        if newest > oldest {
            continue;
        }
        let events = if inactive { g.rng.random_range(1..4) } else { g.rng.random_range(3..10) };
        let last_recent = if inactive { None } else { Some(g.days_ago(0, 29.min(oldest))) };
        for k in 0..events {
            let at = match (k, last_recent) {
                (0, Some(at)) => at,
                _ => g.days_ago(newest, oldest),
            };
            let app =
                if apps.is_empty() || g.rng.random_bool(0.3) { None } else { Some(app_ids[*g.pick(apps)].clone()) };
            d.sign_ins.push(NewSignIn { user_id: user.id.clone(), app_id: app, signed_in_at: at });
        }
    }
}

/// Writes a generated directory in batches, inside one transaction.
pub fn seed(conn: &mut DbConnection, d: &DemoDirectory) -> Result<SeedCounts, diesel::result::Error> {
    conn.write(|conn| {
        let counts = SeedCounts {
            users: in_batches(conn, &d.users, UserRow::COLUMNS, store::users::insert_batch)?,
            groups: in_batches(conn, &d.groups, 8, store::groups::insert_batch)?,
            memberships: in_batches(conn, &d.group_member_users, 2, store::groups::insert_member_users)?
                + in_batches(conn, &d.group_member_groups, 2, store::groups::insert_member_groups)?,
            apps: in_batches(conn, &d.apps, 6, store::apps::insert_batch)?,
            app_assignments: in_batches(conn, &d.app_user_assignments, 4, store::apps::insert_user_assignments)?
                + in_batches(conn, &d.app_group_assignments, 4, store::apps::insert_group_assignments)?,
            roles: in_batches(conn, &d.roles, 5, store::roles::insert_roles)?,
            role_assignments: in_batches(conn, &d.role_assignments, 8, store::roles::insert_assignments)?,
            sign_ins: in_batches(conn, &d.sign_ins, 3, store::sign_ins::insert_batch)?,
        };
        in_batches(conn, &d.group_owners, 2, store::groups::insert_owners)?;
        in_batches(conn, &d.app_owners, 2, store::apps::insert_owners)?;
        store::settings::set(conn, store::settings::DIRECTORY_NAME, DIRECTORY_NAME)?;
        Ok(counts)
    })
}

/// Turns access reviews on (as the demo's Global Administrator) and starts a few reviews,
/// so a visitor finds live reviews at once: a group with guests reviewed by its owner, an
/// application reviewed by managers, a self-review, and a Global Administrator role review.
pub fn seed_reviews(conn: &mut DbConnection, now: NaiveDateTime) -> Result<(), crate::error::AppError> {
    use crate::domain::review::ReviewForm;
    let Some(admin) = store::users::by_upn(conn, personas::ADMIN)? else { return Ok(()) };
    crate::service::onboarding::onboard(conn, &admin, now)?;
    let today = now.date();
    let base = || ReviewForm { fallback_reviewers: personas::ADMIN.to_owned(), ..ReviewForm::with_defaults(today) };
    // Dana reviews the Global Administrators and is one: her own access goes to the
    // fallback reviewer, so that is another active Global Administrator (independence).
    let other_admin = match store::roles::by_name(conn, GLOBAL_ADMINISTRATOR, RoleKind::Directory)? {
        Some(role) => {
            let mut others: Vec<UserRow> =
                store::roles::in_force_with_users(conn, &role.id, None, &[AssignmentType::Active], now)?
                    .into_iter()
                    .map(|(_, u)| u)
                    .filter(|u| u.upn != personas::ADMIN && u.enabled)
                    .collect();
            others.sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
            others.into_iter().next().map(|u| u.upn)
        }
        None => None,
    };
    let forms = [
        ReviewForm {
            name: "Project Falcon guests".into(),
            description_for_reviewers: "Confirm which partner guests still work on Project Falcon.".into(),
            groups: "Project Falcon".into(),
            user_scope: UserScopeKind::Guests.as_str().into(),
            frequency: Frequency::Quarterly.as_str().into(),
            ..base()
        },
        ReviewForm {
            name: "Salesforce access by managers".into(),
            description_for_reviewers: "Does each of your reports still need Salesforce?".into(),
            scope: ScopeKind::Applications.as_str().into(),
            applications: "Salesforce".into(),
            reviewer_kind: ReviewerKind::Managers.as_str().into(),
            frequency: Frequency::Monthly.as_str().into(),
            ..base()
        },
        ReviewForm {
            name: "VPN Users: confirm your access".into(),
            description_for_reviewers: "Tell us whether you still need remote VPN access.".into(),
            groups: "VPN Users".into(),
            reviewer_kind: ReviewerKind::Self_.as_str().into(),
            ..base()
        },
        ReviewForm {
            name: "Global Administrators".into(),
            description_for_reviewers: "Privileged role: keep the list of Global Administrators short.".into(),
            scope: ScopeKind::DirectoryRoles.as_str().into(),
            roles: "Global Administrator".into(),
            reviewer_kind: ReviewerKind::Selected.as_str().into(),
            reviewers: personas::ADMIN.to_owned(),
            fallback_reviewers: other_admin.unwrap_or_else(|| personas::ADMIN.to_owned()),
            frequency: Frequency::Quarterly.as_str().into(),
            justification_required: Some("on".into()),
            ..base()
        },
    ];
    for form in forms {
        let draft = form
            .validate(today)
            .map_err(|e| crate::error::AppError::internal(anyhow::anyhow!("demo review: {e:?}")))?;
        if let Err(errors) = crate::service::reviews::create(
            conn,
            &draft,
            &crate::domain::review::ReviewScope::All,
            Actor::Person(&admin),
            now,
        )? {
            return Err(crate::error::AppError::internal(anyhow::anyhow!("demo review: {errors:?}")));
        }
    }
    crate::service::tick::tick(conn, now)?;
    Ok(())
}

fn in_batches<T>(
    conn: &mut DbConnection,
    rows: &[T],
    columns: usize,
    insert: fn(&mut DbConnection, &[T]) -> diesel::QueryResult<usize>,
) -> diesel::QueryResult<usize> {
    let size = store::batch_size(conn, columns);
    let mut written = 0;
    let started = std::time::Instant::now();
    for chunk in rows.chunks(size) {
        written += insert(conn, chunk)?;
    }
    tracing::debug!(
        rows = rows.len(),
        kind = std::any::type_name::<T>(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "inserted"
    );
    Ok(written)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap().and_hms_opt(9, 0, 0).unwrap()
    }

    #[test]
    fn same_seed_same_directory() {
        let a = generate(DemoOptions::default(), now());
        let b = generate(DemoOptions::default(), now());
        assert_eq!(a.users.len(), 500);
        assert_eq!(
            a.users.iter().map(|u| &u.id).collect::<Vec<_>>(),
            b.users.iter().map(|u| &u.id).collect::<Vec<_>>()
        );
        assert_eq!(a.sign_ins.len(), b.sign_ins.len());
        let c = generate(DemoOptions { seed: 7, ..DemoOptions::default() }, now());
        assert_ne!(a.users[10].id, c.users[10].id);
    }

    #[test]
    fn directory_is_realistic() {
        let d = generate(DemoOptions::default(), now());
        let guests = d.users.iter().filter(|u| u.user_type == UserType::Guest).count();
        assert_eq!(guests, 50);
        assert!(d.users.iter().any(|u| !u.enabled));
        let upns: HashSet<&str> = d.users.iter().map(|u| u.upn.as_str()).collect();
        assert!(upns.iter().all(|u| u.is_ascii() && !u.contains(' ') && !u.contains('\'')), "UPNs are plain ASCII");
        let tom = d.users.iter().find(|u| u.upn == personas::USER).unwrap();
        assert!(
            d.users.iter().all(|u| u.manager_id.as_deref() != Some(tom.id.as_str())),
            "the ordinary user has no reports"
        );
        assert!(d.group_owners.iter().all(|(_, o)| *o != tom.id), "the ordinary user owns nothing");
        assert_eq!(upns.len(), d.users.len(), "UPNs are unique");
        for persona in [personas::ADMIN, personas::OWNER, personas::MANAGER, personas::GUEST, personas::USER] {
            assert!(upns.contains(persona), "{persona}");
        }
        assert!((35..=60).contains(&d.groups.len()), "{} groups", d.groups.len());
        assert!(d.groups.iter().any(|g| g.membership_rule.is_some()));
        assert!(d.groups.iter().any(|g| g.on_premises_sync));
        assert!(!d.group_member_groups.is_empty());
        assert!((14..=20).contains(&d.apps.len()));
        assert!(d.roles.iter().any(|r| r.role_kind == RoleKind::Resource));

        // About a fifth of the users have not signed in for more than 30 days.
        let cutoff = now() - TimeDelta::days(30);
        let mut last: HashMap<&str, NaiveDateTime> = HashMap::new();
        for s in &d.sign_ins {
            let e = last.entry(s.user_id.as_str()).or_insert(s.signed_in_at);
            *e = (*e).max(s.signed_in_at);
        }
        let inactive = d.users.iter().filter(|u| last.get(u.id.as_str()).is_none_or(|at| *at < cutoff)).count();
        let share = inactive as f64 / d.users.len() as f64;
        assert!((0.12..=0.30).contains(&share), "inactive share {share}");
        assert!(d.sign_ins.iter().all(|s| s.signed_in_at <= now() && s.signed_in_at >= now() - TimeDelta::days(90)));
    }
}
