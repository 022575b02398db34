//! The read-only directory pages on the demo directory: lists, search, paging, details with
//! access paths and last sign-ins, and bad input.

use attest::demo::personas;

use crate::helpers::{TestApp, spawn_admin_app};

async fn user_page(app: &TestApp, upn: &str) -> crate::helpers::Page {
    let page = app.get(&format!("/admin/users/{}", app.user_id(upn))).await;
    assert_eq!(page.status, 200);
    page
}

#[tokio::test]
async fn users_list_pages_forward_and_back() {
    let app = spawn_admin_app().await;
    let first = app.get("/admin/users").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.text("h1"), "Users 500");
    let names = first.texts("tbody tr td:first-child");
    assert_eq!(names.len(), 50);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "ordered by name");
    assert!(first.attrs("a[rel=prev]", "href").is_empty());

    // Walk every page: 500 users in pages of 50, none seen twice.
    let mut seen = std::collections::HashSet::new();
    let mut page = first;
    let mut pages = 1;
    loop {
        for row in page.attrs("tbody tr td:first-child a", "href") {
            assert!(seen.insert(row), "a user appears on two pages");
        }
        let Some(next) = page.attrs("a[rel=next]", "href").into_iter().next() else {
            break;
        };
        page = app.get(&next).await;
        assert_eq!(page.status, 200);
        pages += 1;
    }
    assert_eq!((seen.len(), pages), (500, 10));

    // Back from the last page gives the ninth page.
    let prev = page.attrs("a[rel=prev]", "href").remove(0);
    let ninth = app.get(&prev).await;
    assert_eq!(ninth.texts("tbody tr").len(), 50);
    assert!(!ninth.attrs("a[rel=next]", "href").is_empty());
}

#[tokio::test]
async fn users_search_by_name_or_upn() {
    let app = spawn_admin_app().await;
    let page = app.get("/admin/users?q=PRIYA+raman").await;
    assert_eq!(page.texts("tbody tr td:first-child"), vec!["Priya Raman"]);
    assert_eq!(page.attrs("input[name=q]", "value"), vec!["PRIYA raman"], "the search is kept");
    let guests = app.get("/admin/users?q=%23EXT%23").await;
    assert!(!guests.texts("tbody tr").is_empty());
    assert!(guests.texts("tbody tr td:nth-child(3)").iter().all(|t| t.contains("Guest")));
    let none = app.get("/admin/users?q=%25%25_nobody").await;
    assert_eq!(none.status, 200);
    assert!(none.text(".empty").contains("No user's name or UPN contains “%%_nobody”"));
}

#[tokio::test]
async fn user_detail_shows_groups_apps_roles_and_last_sign_in() {
    let app = spawn_admin_app().await;
    let dana = user_page(&app, personas::ADMIN).await;
    assert_eq!(dana.text("h1"), "Dana Whitfield");
    let roles = dana.texts("#roles-h + .table-scroll tbody tr");
    assert!(
        roles.iter().any(|r| r.contains("Global Administrator") && r.contains("Active") && r.contains("In force")),
        "{roles:?}"
    );
    assert!(dana.text(".facts").contains("Last sign-in"));
    assert!(!dana.text(".facts").contains("Never"), "personas are active");

    // Tom is in VPN Users directly and in Slack/Workday through the dynamic All Employees group.
    let tom = user_page(&app, personas::USER).await;
    let groups = tom.texts("#groups-h + .table-scroll tbody tr");
    assert!(groups.iter().any(|g| g.starts_with("All Employees") && g.contains("Dynamic rule")), "{groups:?}");
    assert!(groups.iter().any(|g| g.starts_with("VPN Users") && g.ends_with("Direct")), "{groups:?}");
    let apps = tom.texts("#apps-h + .table-scroll tbody tr");
    assert!(apps.iter().any(|a| a.starts_with("Slack") && a.contains("Via All Employees")), "{apps:?}");
    assert!(tom.text(".facts").contains("Manager"));
}

#[tokio::test]
async fn group_members_show_their_nesting_path() {
    let app = spawn_admin_app().await;
    let page = app.get(&format!("/admin/groups/{}", app.group_id("Engineering All"))).await;
    assert_eq!(page.status, 200);
    assert!(page.text("#nesting-h + p").contains("Backend Developers"));
    let rows = page.texts("tbody tr");
    assert_eq!(rows.len(), 50, "a page of members");
    assert!(rows.iter().any(|r| r.contains("Via Backend Developers")), "{rows:?}");
    // The head of engineering is a direct member.
    assert!(rows.iter().any(|r| r.contains("Direct")) || !page.attrs("a[rel=next]", "href").is_empty());

    // SRE On-call sits two levels down: its members show the whole chain somewhere.
    let sre = app.get(&format!("/admin/groups/{}", app.group_id("SRE On-call"))).await;
    let sre_member = sre.texts("tbody tr td:nth-child(2)").remove(0);
    let deep = app.get(&format!("/admin/groups/{}?q={}", app.group_id("Engineering All"), sre_member)).await;
    assert!(deep.text("tbody tr").contains("Via Platform Team › SRE On-call"), "{}", deep.text("tbody tr"));
    assert!(deep.text("tbody tr").contains("Via Platform Team"));

    let dynamic = app.get(&format!("/admin/groups/{}", app.group_id("All Employees"))).await;
    assert!(dynamic.text(".facts").contains("Dynamic: (user.userType -eq \"Member\")"));
    assert!(dynamic.texts("tbody tr").iter().all(|r| r.contains("Dynamic rule")));

    let synced = app.get(&format!("/admin/groups/{}", app.group_id("SG-VPN-Users"))).await;
    assert!(synced.text(".facts").contains("Synchronized from on-premises"));

    let orphan = app.get(&format!("/admin/groups/{}", app.group_id("SRE On-call"))).await;
    assert!(orphan.text(".facts").contains("No owner"));
}

#[tokio::test]
async fn group_member_search_and_paging() {
    let app = spawn_admin_app().await;
    let id = app.group_id("All Employees");
    let first = app.get(&format!("/admin/groups/{id}")).await;
    let next = first.attrs("a[rel=next]", "href").remove(0);
    let second = app.get(&next).await;
    assert_eq!(second.status, 200);
    let a = first.texts("tbody tr td:first-child");
    let b = second.texts("tbody tr td:first-child");
    assert!(a.last().unwrap() <= b.first().unwrap());
    let guests_group = app.get(&format!("/admin/groups/{}?q=EXT", app.group_id("Project Falcon"))).await;
    assert!(guests_group.texts("tbody tr").iter().all(|r| r.contains("Guest")));
    assert!(!guests_group.texts("tbody tr").is_empty(), "Project Falcon has guests");
}

#[tokio::test]
async fn app_users_are_direct_or_via_groups() {
    let app = spawn_admin_app().await;
    let github = app.get(&format!("/admin/applications/{}", app.app_id("GitHub Enterprise"))).await;
    assert_eq!(github.status, 200);
    assert!(github.text("#groups-h + .table-scroll").contains("Engineering All"));
    let rows = github.texts("#users-h ~ .table-scroll tbody tr");
    assert!(rows.iter().any(|r| r.contains("Via Engineering All › ")), "{rows:?}");
    assert!(github.text("h2#users-h ~ .table-scroll thead").contains("Last sign-in to the app"));

    let adobe = app.get(&format!("/admin/applications/{}", app.app_id("Adobe Creative Cloud"))).await;
    let rows = adobe.texts("#users-h ~ .table-scroll tbody tr");
    assert!(!rows.is_empty() && rows.iter().all(|r| r.contains("Direct (")), "{rows:?}");

    let greenhouse = app.get(&format!("/admin/applications/{}", app.app_id("Greenhouse Recruiting"))).await;
    assert!(greenhouse.text(".facts").contains("No owner"));
    let list = app.get("/admin/applications").await;
    assert_eq!(list.text("h1"), "Applications 16");
    assert!(list.texts("tbody tr").iter().any(|r| r.starts_with("Zoom") && r.contains("No — every user can sign in")));
}

#[tokio::test]
async fn roles_list_and_assignments() {
    let app = spawn_admin_app().await;
    let list = app.get("/admin/roles").await;
    let rows = list.texts("tbody tr");
    assert!(rows.iter().any(|r| r.starts_with("Global Administrator Directory role Privileged 3")), "{rows:?}");
    assert!(rows.iter().any(|r| r.starts_with("Contributor Resource role")), "{rows:?}");
    let ga = app.get(&format!("/admin/roles/{}", app.role_id("Global Administrator"))).await;
    let rows = ga.texts("tbody tr");
    assert!(rows.iter().any(|r| r.contains("Dana Whitfield") && r.contains("Active") && r.contains("Permanent")));
    assert!(rows.iter().any(|r| r.contains("Eligible")));
    let exchange = app.get(&format!("/admin/roles/{}", app.role_id("Exchange Administrator"))).await;
    assert!(exchange.text("tbody tr").contains("Expired"));
    let owner = app.get(&format!("/admin/roles/{}", app.role_id("Contributor"))).await;
    assert!(owner.texts("tbody tr td:nth-child(3)").iter().any(|s| s.contains("subscription") || s.contains("rg-")));
}

#[tokio::test]
async fn bad_ids_and_links_get_clear_messages() {
    let app = spawn_admin_app().await;
    for path in [
        "/admin/users/nope",
        "/admin/groups/00000000-0000-0000-0000-000000000000",
        "/admin/applications/x",
        "/admin/roles/%00",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.text(".lead").contains("go back to the list") || page.text(".lead").contains("Check the address"),
            "{path}"
        );
    }
    let bad = app.get("/admin/users?after=x%27%20OR%201%3D1").await;
    assert_eq!(bad.status, 400);
    assert!(bad.text(".lead").contains("page link is not valid"));
    let stale = app.get("/admin/users?after=00000000-0000-0000-0000-000000000000").await;
    assert_eq!(stale.status, 400);
    assert!(stale.text(".lead").contains("out of date"));
    let both = app.get("/admin/groups?after=a&before=b").await;
    assert_eq!(both.status, 400);
    let long = app.get(&format!("/admin/users?q={}", "x".repeat(300))).await;
    assert_eq!(long.status, 400);
    assert!(long.text(".lead").contains("at most 200 characters"));
    let twice = app.get("/admin/users?q=a&q=b").await;
    assert_eq!(twice.status, 400, "a repeated parameter is refused, not a 500");
}

#[tokio::test]
async fn names_are_escaped() {
    let app = spawn_admin_app().await;
    let id = app.user_id(personas::USER);
    app.exec(&format!("UPDATE users SET display_name = '<script>alert(1)</script>' WHERE id = '{id}'"));
    let page = app.get(&format!("/admin/users/{id}")).await;
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || page.body.contains("&#60;script&#62;"));
}
