//! The SCIM 2.0 service provider over HTTP: the request sequences Entra ID's provisioning
//! service and Okta send, every error case, paging and projections, large member changes,
//! concurrent clients, isolation between sources, the audit trail, and a review of a
//! provisioned group.

use attest::service::actor::Actor;
use attest::service::sources;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Spawn, TestApp, spawn_app};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// An answer of the SCIM API.
struct Res {
    status: u16,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

impl Res {
    fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    /// Asserts an RFC 7644 §3.12 error with this status and scimType.
    fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.json);
        assert_eq!(self.json["schemas"], json!([ERROR]), "{}", self.json);
        assert_eq!(self.json["status"], status.to_string());
        assert_eq!(self.json["scimType"].as_str(), scim_type, "{}", self.json);
        assert!(self.json["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(self.header("content-type").starts_with("application/scim+json"));
    }
}

/// A bearer token of the SCIM source `source` (created on first use).
fn token(app: &TestApp, source: &str) -> String {
    let mut conn = app.conn();
    sources::create_token(&mut conn, source, "prod", Actor::CommandLine, app.clock_now()).unwrap().2
}

async fn send(app: &TestApp, token: Option<&str>, method: Method, path: &str, body: Option<&Value>) -> Res {
    let mut req = app.client.request(method, format!("{}/scim/v2{path}", app.address));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.header("content-type", "application/scim+json").body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Res { status, headers, json }
}

/// A client of one SCIM source.
struct Scim<'a> {
    app: &'a TestApp,
    token: String,
}

impl<'a> Scim<'a> {
    fn new(app: &'a TestApp, source: &str) -> Self {
        Self { app, token: token(app, source) }
    }

    async fn get(&self, path: &str) -> Res {
        send(self.app, Some(&self.token), Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> Res {
        send(self.app, Some(&self.token), Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: &Value) -> Res {
        send(self.app, Some(&self.token), Method::PUT, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: &Value) -> Res {
        send(self.app, Some(&self.token), Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Res {
        send(self.app, Some(&self.token), Method::DELETE, path, None).await
    }

    /// Creates a user and returns its id.
    async fn user(&self, user_name: &str) -> String {
        let res = self.post("/Users", &json!({"schemas": [USER], "userName": user_name, "active": true})).await;
        assert_eq!(res.status, 201, "{}", res.json);
        res.json["id"].as_str().unwrap().to_owned()
    }

    /// Creates a group and returns its id.
    async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let res = self.post("/Groups", &json!({"schemas": [GROUP], "displayName": name, "members": members})).await;
        assert_eq!(res.status, 201, "{}", res.json);
        res.json["id"].as_str().unwrap().to_owned()
    }
}

fn filter(text: &str) -> String {
    crate::helpers::percent_encoded(text)
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|list| list.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The body Entra ID's provisioning service sends to create a user (its default mappings).
fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Ada Lovelace",
        "title": "Analyst",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "primary": true}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        "userType": "Member",
        ENTERPRISE: {"employeeNumber": "E-100", "department": "Research"}
    })
}

#[tokio::test]
async fn entra_provisioning_sequence() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Entra ID");

    // Entra looks the user up before it creates them.
    let q = filter("userName eq \"ada@contoso.com\"");
    let found = scim.get(&format!("/Users?filter={q}")).await;
    assert_eq!(found.status, 200);
    assert!(found.header("content-type").starts_with("application/scim+json"));
    assert_eq!(found.json["totalResults"], 0);
    assert_eq!(found.json["Resources"], json!([]));

    let created = scim.post("/Users", &entra_user("ada@contoso.com", "ada-obj-1")).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), format!("{}/scim/v2/Users/{id}", app.address));
    assert_eq!(created.header("etag"), created.json["meta"]["version"].as_str().unwrap());
    assert_eq!(created.json["meta"]["resourceType"], "User");
    assert_eq!(created.json["userName"], "ada@contoso.com");
    assert_eq!(created.json["active"], true);
    assert_eq!(created.json[ENTERPRISE]["department"], "Research");
    assert!(created.json.get("phoneNumbers").is_none(), "attributes attest does not keep are not returned");

    // What attest's own pages see.
    assert_eq!(app.count("users WHERE upn = 'ada@contoso.com' AND display_name = 'Ada Lovelace' AND job_title = 'Analyst' AND department = 'Research' AND mail = 'ada@contoso.com' AND enabled = TRUE"), 1);

    // Looked up again, in another case.
    let q = filter("userName eq \"ADA@contoso.COM\"");
    let found = scim.get(&format!("/Users?filter={q}")).await;
    assert_eq!(found.json["totalResults"], 1);
    assert_eq!(found.json["Resources"][0]["id"], id.as_str());
    let q = filter("externalId eq \"ada-obj-1\"");
    assert_eq!(scim.get(&format!("/Users?filter={q}")).await.json["totalResults"], 1);

    // Entra's capitalised ops and booleans as strings.
    let disabled = scim
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "title", "value": "Senior Analyst"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.l@contoso.com"}
            ])),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.json);
    assert_eq!(disabled.json["active"], false);
    assert_eq!(disabled.json["title"], "Senior Analyst");
    assert_ne!(disabled.header("etag"), created.header("etag"), "the version moves");
    assert_eq!(app.count("users WHERE upn = 'ada@contoso.com' AND enabled = FALSE AND mail = 'ada.l@contoso.com'"), 1);

    // A PATCH without a path carries an object of attributes.
    let renamed = scim
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "Replace", "value": {"displayName": "Ada King", "active": "True"}}])),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.json);
    assert_eq!(
        (renamed.json["displayName"].as_str(), renamed.json["active"].as_bool()),
        (Some("Ada King"), Some(true))
    );

    // Groups: created, read without members, members added and removed.
    let other = scim.user("grace@contoso.com").await;
    let group =
        scim.post("/Groups", &json!({"schemas": [GROUP], "displayName": "Research", "externalId": "g-1"})).await;
    assert_eq!(group.status, 201, "{}", group.json);
    let gid = group.json["id"].as_str().unwrap().to_owned();
    let q = filter("displayName eq \"research\"");
    let found = scim.get(&format!("/Groups?filter={q}&excludedAttributes=members")).await;
    assert_eq!(found.json["totalResults"], 1);
    assert!(found.json["Resources"][0].get("members").is_none());
    let add = patch(json!([{"op": "Add", "path": "members", "value": [{"value": id}, {"value": other}]}]));
    let added = scim.patch(&format!("/Groups/{gid}"), &add).await;
    assert_eq!(added.status, 204, "{}", added.json);
    let read = scim.get(&format!("/Groups/{gid}")).await;
    let mut both = vec![id.clone(), other.clone()];
    both.sort();
    assert_eq!(member_ids(&read.json), both);
    assert_eq!(read.header("etag"), added.header("etag"));

    let q = filter(&format!("members[value eq \"{id}\"]"));
    assert_eq!(scim.get(&format!("/Groups?filter={q}")).await.json["totalResults"], 1);

    let remove = patch(json!([{"op": "Remove", "path": format!("members[value eq \"{id}\"]")}]));
    assert_eq!(scim.patch(&format!("/Groups/{gid}"), &remove).await.status, 204);
    assert_eq!(member_ids(&scim.get(&format!("/Groups/{gid}")).await.json), vec![other.clone()]);

    // Deleted.
    assert_eq!(scim.delete(&format!("/Users/{id}")).await.status, 204);
    scim.get(&format!("/Users/{id}")).await.assert_error(404, None);
    scim.delete(&format!("/Users/{id}")).await.assert_error(404, None);
    assert_eq!(scim.delete(&format!("/Groups/{gid}")).await.status, 204);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{gid}'")), 0);
}

#[tokio::test]
async fn okta_provisioning_sequence() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Okta");
    let q = filter("userName eq \"lin@contoso.com\"");
    assert_eq!(scim.get(&format!("/Users?filter={q}&startIndex=1&count=100")).await.json["totalResults"], 0);
    let body = json!({
        "schemas": [USER],
        "userName": "lin@contoso.com",
        "name": {"givenName": "Lin", "familyName": "Chen"},
        "emails": [{"primary": true, "value": "lin@contoso.com", "type": "work"}],
        "displayName": "Lin Chen",
        "locale": "en-US",
        "externalId": "00u1",
        "groups": [],
        "password": "secret-that-is-ignored",
        "active": true
    });
    let created = scim.post("/Users", &body).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_str().unwrap().to_owned();
    assert!(created.json.get("password").is_none());

    // Okta replaces the whole user.
    let mut whole = created.json.clone();
    whole["name"]["familyName"] = json!("Chen-Park");
    whole["displayName"] = json!("Lin Chen-Park");
    let put = scim.put(&format!("/Users/{id}"), &whole).await;
    assert_eq!(put.status, 200, "{}", put.json);
    assert_eq!(put.json["name"]["familyName"], "Chen-Park");
    assert_eq!(put.json["meta"]["created"], created.json["meta"]["created"], "PUT keeps the creation");

    // A group pushed whole, with its members.
    let second = scim.user("max@contoso.com").await;
    let gid = scim.group("Engineering", &[]).await;
    let group = json!({"schemas": [GROUP], "id": gid, "displayName": "Engineering",
        "members": [{"value": id, "display": "lin@contoso.com"}, {"value": second}]});
    let put = scim.put(&format!("/Groups/{gid}"), &group).await;
    assert_eq!(put.status, 200, "{}", put.json);
    assert_eq!(member_ids(&put.json).len(), 2);
    // And again with one member fewer: the set is replaced.
    let group = json!({"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": second}]});
    let put = scim.put(&format!("/Groups/{gid}"), &group).await;
    assert_eq!(member_ids(&put.json), vec![second.clone()]);
    // Without members, they stay.
    let renamed = scim.put(&format!("/Groups/{gid}"), &json!({"schemas": [GROUP], "displayName": "Eng"})).await;
    assert_eq!(renamed.status, 200);
    assert_eq!(member_ids(&scim.get(&format!("/Groups/{gid}")).await.json), vec![second.clone()]);

    // Okta deactivates with a path-less replace.
    let off = scim.patch(&format!("/Users/{id}"), &patch(json!([{"op": "replace", "value": {"active": false}}]))).await;
    assert_eq!(off.status, 200, "{}", off.json);
    assert_eq!(off.json["active"], false);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Entra ID");
    let none = send(&app, None, Method::GET, "/Users", None).await;
    none.assert_error(401, None);
    assert!(none.header("www-authenticate").starts_with("Bearer"));
    assert!(none.header("set-cookie").is_empty(), "the API sets no session cookie");
    send(&app, Some("not-a-token"), Method::GET, "/Users", None).await.assert_error(401, None);
    send(&app, None, Method::POST, "/Users", Some(&json!({"schemas": [USER], "userName": "x"})))
        .await
        .assert_error(401, None);
    send(&app, None, Method::GET, "/ServiceProviderConfig", None).await.assert_error(401, None);

    // A revoked token stops working.
    assert_eq!(scim.get("/Users").await.status, 200);
    let source = {
        let mut conn = app.conn();
        sources::named(&mut conn, "Entra ID").unwrap()
    };
    {
        let mut conn = app.conn();
        sources::revoke_token(&mut conn, &source.id, "prod", Actor::CommandLine, app.clock_now()).unwrap();
    }
    scim.get("/Users").await.assert_error(401, None);
    // A token of a source that is not a SCIM connection (a CSV import's) is refused too.
    let csv_token = {
        let mut conn = app.conn();
        let now = app.clock_now();
        let csv = sources::ensure(&mut conn, "HR export", attest::domain::source::SourceKind::Csv, now).unwrap();
        let secret = attest::auth::token::new_source_token();
        let row = attest::store::sources::TokenRow {
            id: "csv-token".into(),
            source_id: csv.id,
            name: "upload".into(),
            token_hash: attest::auth::token::token_hash(&secret),
            created_at: now,
            created_by_name: "test".into(),
            last_used_at: None,
            revoked_at: None,
        };
        attest::store::sources::insert_token(&mut conn, &row).unwrap();
        secret
    };
    send(&app, Some(&csv_token), Method::GET, "/Users", None).await.assert_error(403, None);
    // The web pages' CSRF check does not apply to the API, and its errors are not pages.
    let posted = send(
        &app,
        Some(&token(&app, "Entra ID")),
        Method::POST,
        "/Users",
        Some(&json!({"schemas": [USER], "userName": "y@x"})),
    )
    .await;
    assert_eq!(posted.status, 201, "{}", posted.json);
}

#[tokio::test]
async fn errors_carry_their_scim_type_and_status() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Entra ID");
    let id = scim.user("ada@contoso.com").await;

    // 404: unknown ids, unknown endpoints, unknown resource types.
    scim.get("/Users/no-such-id").await.assert_error(404, None);
    scim.get("/Groups/no-such-id").await.assert_error(404, None);
    scim.patch("/Users/no-such-id", &patch(json!([{"op": "replace", "path": "active", "value": false}])))
        .await
        .assert_error(404, None);
    scim.get("/Bulk").await.assert_error(404, None);

    // 409: userName is unique whatever its case.
    scim.post("/Users", &json!({"schemas": [USER], "userName": "ADA@Contoso.com"}))
        .await
        .assert_error(409, Some("uniqueness"));
    let other = scim.user("grace@contoso.com").await;
    scim.put(&format!("/Users/{other}"), &json!({"schemas": [USER], "userName": "Ada@contoso.com"}))
        .await
        .assert_error(409, Some("uniqueness"));
    scim.patch(
        &format!("/Users/{other}"),
        &patch(json!([{"op": "replace", "path": "userName", "value": "ada@CONTOSO.com"}])),
    )
    .await
    .assert_error(409, Some("uniqueness"));

    // invalidFilter.
    for bad in ["userName eq", "title eq \"x\"", "userName zz \"x\"", "(userName eq \"x\""] {
        scim.get(&format!("/Users?filter={}", filter(bad))).await.assert_error(400, Some("invalidFilter"));
    }

    // invalidValue: a missing userName, a manager or member that is not the source's.
    scim.post("/Users", &json!({"schemas": [USER], "displayName": "No Name"}))
        .await
        .assert_error(400, Some("invalidValue"));
    let with_manager =
        json!({"schemas": [USER, ENTERPRISE], "userName": "m@x", ENTERPRISE: {"manager": {"value": "nobody"}}});
    scim.post("/Users", &with_manager).await.assert_error(400, Some("invalidValue"));
    let gid = scim.group("Research", &[]).await;
    let unknown = scim
        .patch(
            &format!("/Groups/{gid}"),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": id}, {"value": "ghost-id"}]}])),
        )
        .await;
    unknown.assert_error(400, Some("invalidValue"));
    assert!(unknown.json["detail"].as_str().unwrap().contains("ghost-id"), "{}", unknown.json);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{gid}'")), 0, "nothing was written");
    scim.get("/Users?count=ten").await.assert_error(400, Some("invalidValue"));

    // invalidSyntax: not JSON, not a resource.
    let res = app
        .client
        .post(format!("{}/scim/v2/Users", app.address))
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
    scim.post("/Users", &json!(["not", "an", "object"])).await.assert_error(400, Some("invalidSyntax"));
    scim.patch(&format!("/Users/{id}"), &json!({"Operations": []})).await.assert_error(400, Some("invalidSyntax"));

    // mutability: the id cannot be changed.
    scim.patch(&format!("/Users/{id}"), &patch(json!([{"op": "replace", "path": "id", "value": "other"}])))
        .await
        .assert_error(400, Some("mutability"));

    // 412: If-Match with an old version.
    let current = scim.get(&format!("/Users/{id}")).await.header("etag");
    let res = app
        .client
        .patch(format!("{}/scim/v2/Users/{id}", app.address))
        .bearer_auth(&scim.token)
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/scim+json")
        .body(patch(json!([{"op": "replace", "path": "title", "value": "x"}])).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    let res = app
        .client
        .patch(format!("{}/scim/v2/Users/{id}", app.address))
        .bearer_auth(&scim.token)
        .header("if-match", &current)
        .header("content-type", "application/scim+json")
        .body(patch(json!([{"op": "replace", "path": "title", "value": "x"}])).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the current version matches");

    // 413: too large a body; 415: not JSON.
    let huge = format!("{{\"schemas\": [\"{USER}\"], \"userName\": \"{}\"}}", "x".repeat(33 * 1024 * 1024));
    let res = app
        .client
        .post(format!("{}/scim/v2/Users", app.address))
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let res = app
        .client
        .post(format!("{}/scim/v2/Users", app.address))
        .bearer_auth(&scim.token)
        .header("content-type", "text/plain")
        .body("userName=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);

    // Hostile text is refused or kept as text, never a 500.
    let hostile = json!({"schemas": [USER], "userName": "evil\u{202e}@x", "displayName": "=cmd|' /C calc'!A0"});
    let res = scim.post("/Users", &hostile).await;
    assert!(res.status == 201 || res.status == 400, "{}", res.json);

    // The refused writes are on the source's record, without the token.
    let errors = app.count("source_errors");
    assert!(errors >= 8, "{errors}");
    assert_eq!(app.count(&format!("source_errors WHERE message LIKE '%{}%'", &scim.token[..12])), 0);
}

#[tokio::test]
async fn filters_paging_and_projections() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Entra ID");
    let mut ids = Vec::new();
    for (i, name) in ["ann", "bob", "cat", "dan", "eve"].iter().enumerate() {
        let body = json!({"schemas": [USER], "userName": format!("{name}@contoso.com"),
            "displayName": format!("{} Person", name.to_uppercase()), "active": i % 2 == 0,
            "emails": [{"value": format!("{name}@mail.example"), "type": if i < 2 { "work" } else { "home" }}]});
        let res = scim.post("/Users", &body).await;
        assert_eq!(res.status, 201, "{}", res.json);
        ids.push(res.json["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let scim = &scim;
    let count = |f: &str| {
        let path = format!("/Users?filter={}", filter(f));
        async move { scim.get(&path).await.json["totalResults"].as_u64().unwrap() }
    };
    assert_eq!(count("userName sw \"A\"").await, 1);
    assert_eq!(count("userName ew \"@CONTOSO.COM\"").await, 5);
    assert_eq!(count("displayName co \"n p\"").await, 2, "ann, dan");
    assert_eq!(count("active eq true").await, 3);
    assert_eq!(count("active eq false or userName eq \"ann@contoso.com\"").await, 3);
    assert_eq!(count("not (active eq true)").await, 2);
    assert_eq!(count("emails[type eq \"work\"]").await, 2);
    assert_eq!(count("emails[type eq \"work\" and value co \"ann\"]").await, 1);
    assert_eq!(count("emails.value eq \"EVE@mail.example\"").await, 1);
    assert_eq!(count("externalId pr").await, 0);
    assert_eq!(count("not (externalId eq \"x\")").await, 5, "a missing value is false, also under not");
    assert_eq!(count("meta.lastModified gt \"2020-01-01T00:00:00Z\"").await, 5);
    assert_eq!(count("meta.lastModified lt \"2020-01-01T00:00:00Z\"").await, 0);
    assert_eq!(
        count("(userName eq \"ann@contoso.com\" or userName eq \"bob@contoso.com\") and active eq true").await,
        1
    );

    // Pages in one stable order, with the total.
    let page = scim.get("/Users?startIndex=2&count=2").await;
    assert_eq!((page.json["totalResults"].as_u64(), page.json["itemsPerPage"].as_u64()), (Some(5), Some(2)));
    assert_eq!(page.json["startIndex"], 2);
    let got: Vec<&str> = page.json["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(got, vec![ids[1].as_str(), ids[2].as_str()]);
    assert_eq!(scim.get("/Users?startIndex=5&count=10").await.json["itemsPerPage"], 1);
    assert_eq!(scim.get("/Users?count=0").await.json["Resources"], json!([]));

    // Projections.
    let only = scim.get("/Users?attributes=userName&count=1").await;
    let first = only.json["Resources"][0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, vec!["id", "meta", "schemas", "userName"]);
    let without = scim.get(&format!("/Users/{}?excludedAttributes=emails,name", ids[0])).await;
    assert!(without.json.get("emails").is_none());
    assert!(without.json.get("userName").is_some());
}

#[tokio::test]
async fn discovery_documents() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Entra ID");
    let config = scim.get("/ServiceProviderConfig").await;
    assert_eq!(config.status, 200);
    assert_eq!(config.json["patch"]["supported"], true);
    assert_eq!(config.json["etag"]["supported"], true);
    let types = scim.get("/ResourceTypes").await;
    assert_eq!(types.json["totalResults"], 2);
    assert_eq!(scim.get("/ResourceTypes/User").await.json["endpoint"], "/Users");
    assert_eq!(scim.get("/Schemas").await.json["totalResults"], 3);
    assert_eq!(scim.get(&format!("/Schemas/{ENTERPRISE}")).await.json["name"], "EnterpriseUser");
    scim.get("/Schemas/urn:nope").await.assert_error(404, None);
    scim.delete("/Users").await.assert_error(405, None);
}

#[tokio::test]
async fn ten_thousand_members_in_one_patch() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Entra ID");
    let source = {
        let mut conn = app.conn();
        sources::named(&mut conn, "Entra ID").unwrap().id
    };
    // The users are arranged in the database directly: creating 10,000 over HTTP is the
    // benchmark's job.
    let now = app.clock_now().format("%Y-%m-%d %H:%M:%S");
    let mut ids = Vec::new();
    for chunk in 0..10 {
        let mut values = Vec::new();
        for i in 0..1000 {
            let id = format!("u-{chunk:02}-{i:04}");
            values.push(format!(
                "('{id}', '{id}@contoso.com', 'User {id}', 'Member', TRUE, '{now}', '{source}', '{now}')"
            ));
            ids.push(id);
        }
        app.exec(&format!(
            "INSERT INTO users (id, upn, display_name, user_type, enabled, created_at, source_id, updated_at) VALUES {}",
            values.join(", ")
        ));
    }
    let gid = scim.group("All staff", &[]).await;
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let started = std::time::Instant::now();
    let added = scim
        .patch(&format!("/Groups/{gid}"), &patch(json!([{"op": "Add", "path": "members", "value": members}])))
        .await;
    let add_time = started.elapsed();
    assert_eq!(added.status, 204, "{}", added.json);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{gid}' AND source_id = '{source}'")), 10_000);
    // Adding them again changes nothing.
    let again = scim
        .patch(&format!("/Groups/{gid}"), &patch(json!([{"op": "Add", "path": "members", "value": members}])))
        .await;
    assert_eq!(again.status, 204);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{gid}'")), 10_000);

    let started = std::time::Instant::now();
    let removed = scim
        .patch(&format!("/Groups/{gid}"), &patch(json!([{"op": "Remove", "path": "members", "value": members}])))
        .await;
    let remove_time = started.elapsed();
    assert_eq!(removed.status, 204, "{}", removed.json);
    assert_eq!(app.count(&format!("group_member_users WHERE group_id = '{gid}'")), 0);
    eprintln!("10,000 members: added in {add_time:?}, removed in {remove_time:?}");
}

#[tokio::test]
async fn two_clients_write_at_once() {
    let app = Spawn { ..Spawn::default() }.start().await;
    let entra = Scim::new(&app, "Entra ID");
    let okta = Scim::new(&app, "Okta");
    let a = async {
        let mut out = Vec::new();
        for i in 0..15 {
            out.push(entra.post("/Users", &json!({"schemas": [USER], "userName": format!("e{i}@x")})).await.status);
        }
        out
    };
    let b = async {
        let mut out = Vec::new();
        for i in 0..15 {
            out.push(okta.post("/Users", &json!({"schemas": [USER], "userName": format!("o{i}@x")})).await.status);
        }
        out
    };
    let (a, b) = tokio::join!(a, b);
    assert!(a.iter().chain(&b).all(|s| *s == 201), "{a:?} {b:?}");
    // The same userName from both at once: one wins, the other hears 409.
    let (same, same_upper) =
        (json!({"schemas": [USER], "userName": "same@x"}), json!({"schemas": [USER], "userName": "SAME@x"}));
    let (x, y) = tokio::join!(entra.post("/Users", &same), okta.post("/Users", &same_upper));
    let mut statuses = vec![x.status, y.status];
    statuses.sort();
    assert_eq!(statuses, vec![201, 409]);
    assert_eq!(app.count("users"), 31);
}

#[tokio::test]
async fn a_source_sees_and_changes_only_its_own_objects() {
    let app = Spawn { demo: true, ..Spawn::default() }.start().await;
    let x = Scim::new(&app, "Entra ID");
    let y = Scim::new(&app, "Okta");
    let mine = x.user("mine@contoso.com").await;
    let theirs = y.user("theirs@contoso.com").await;
    let their_group = y.group("Theirs", &[&theirs]).await;
    let local = app.user_id(attest::demo::personas::ADMIN);
    let local_group = app.group_id("Sales Team");

    let listed = x.get("/Users?count=1000").await;
    assert_eq!(listed.json["totalResults"], 1, "neither Okta's users nor the demo's");
    assert_eq!(listed.json["Resources"][0]["id"], mine.as_str());
    assert_eq!(x.get("/Groups").await.json["totalResults"], 0);
    for id in [&theirs, &local] {
        x.get(&format!("/Users/{id}")).await.assert_error(404, None);
        x.put(&format!("/Users/{id}"), &json!({"schemas": [USER], "userName": "stolen@x"}))
            .await
            .assert_error(404, None);
        x.patch(&format!("/Users/{id}"), &patch(json!([{"op": "replace", "path": "active", "value": false}])))
            .await
            .assert_error(404, None);
        x.delete(&format!("/Users/{id}")).await.assert_error(404, None);
    }
    for gid in [&their_group, &local_group] {
        x.get(&format!("/Groups/{gid}")).await.assert_error(404, None);
        x.patch(
            &format!("/Groups/{gid}"),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": mine}]}])),
        )
        .await
        .assert_error(404, None);
        x.delete(&format!("/Groups/{gid}")).await.assert_error(404, None);
    }
    // Nor can another source's users or groups be made members.
    let gid = x.group("Mine", &[]).await;
    for id in [&theirs, &local, &their_group, &local_group] {
        x.patch(&format!("/Groups/{gid}"), &patch(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])))
            .await
            .assert_error(400, Some("invalidValue"));
    }
    // A manager must be the source's own user too.
    let managed = json!({"schemas": [USER, ENTERPRISE], "userName": "m@x", ENTERPRISE: {"manager": {"value": local}}});
    x.post("/Users", &managed).await.assert_error(400, Some("invalidValue"));
    assert_eq!(app.count(&format!("users WHERE id = '{theirs}' AND enabled = TRUE")), 1);
    assert_eq!(app.count(&format!("users WHERE id = '{local}' AND enabled = TRUE")), 1);
}

#[tokio::test]
async fn nested_groups_and_cycles() {
    let app = spawn_app().await;
    let scim = Scim::new(&app, "Entra ID");
    let user = scim.user("ada@x").await;
    let inner = scim.group("Inner", &[&user]).await;
    let outer = scim.group("Outer", &[&inner]).await;
    let read = scim.get(&format!("/Groups/{outer}")).await;
    assert_eq!(read.json["members"][0]["type"], "Group");
    assert_eq!(read.json["members"][0]["display"], "Inner");
    // Inner cannot contain Outer, nor itself.
    let cycle = patch(json!([{"op": "add", "path": "members", "value": [{"value": outer}]}]));
    scim.patch(&format!("/Groups/{inner}"), &cycle).await.assert_error(400, Some("invalidValue"));
    let own = patch(json!([{"op": "add", "path": "members", "value": [{"value": inner}]}]));
    assert_eq!(scim.patch(&format!("/Groups/{inner}"), &own).await.status, 400);
    // Deleting the inner group leaves the outer one without it.
    assert_eq!(scim.delete(&format!("/Groups/{inner}")).await.status, 204);
    assert_eq!(member_ids(&scim.get(&format!("/Groups/{outer}")).await.json), Vec::<String>::new());
}

#[tokio::test]
async fn every_change_is_audited_with_its_source() {
    let app = Spawn { demo: true, ..Spawn::default() }.start().await;
    app.sign_in("admin").await;
    let scim = Scim::new(&app, "Entra ID");
    let id = scim.user("ada@contoso.com").await;
    scim.patch(&format!("/Users/{id}"), &patch(json!([{"op": "replace", "path": "active", "value": false}]))).await;
    let gid = scim.group("Research", &[&id]).await;
    scim.delete(&format!("/Users/{id}")).await;
    scim.delete(&format!("/Groups/{gid}")).await;
    // A PATCH that changes nothing is not an event.
    let page = app.get("/admin/audit").await;
    assert_eq!(page.status, 200);
    let rows = page.texts("table tbody tr");
    let scim_rows: Vec<&String> =
        rows.iter().filter(|r| r.contains("SCIM provisioning Entra ID (token prod)")).collect();
    assert_eq!(scim_rows.len(), 5, "{rows:#?}");
    for action in [
        "SCIM: created a user",
        "SCIM: changed a user",
        "SCIM: deleted a user",
        "SCIM: created a group",
        "SCIM: deleted a group",
    ] {
        assert!(scim_rows.iter().any(|r| r.contains(action)), "{action}: {scim_rows:#?}");
    }
    assert_eq!(app.count("audit_events WHERE action LIKE 'Scim%' AND details LIKE '%Entra ID%'"), 5);
    // The source notes its last change.
    assert_eq!(app.count("sources WHERE name = 'Entra ID' AND changed_at IS NOT NULL"), 1);
}

#[tokio::test]
async fn a_provisioned_group_is_reviewed_end_to_end() {
    let app = Spawn { demo: true, ..Spawn::default() }.start().await;
    app.sign_in("admin").await;
    let scim = Scim::new(&app, "Entra ID");
    let ada = scim.post("/Users", &entra_user("ada.scim@contoso.com", "obj-ada")).await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lin = scim.user("lin.scim@contoso.com").await;
    scim.group("SCIM Research", &[&ada, &lin]).await;

    let today = app.clock_now().date().format("%Y-%m-%d").to_string();
    let fields = vec![
        ("name", "Review of SCIM Research"),
        ("description_for_reviewers", "Who still needs access?"),
        ("scope", "Groups"),
        ("groups", "SCIM Research"),
        ("role_assignment_types", "Both"),
        ("user_scope", "All"),
        ("inactive_days", "90"),
        ("reviewer_kind", "Owners"),
        ("fallback_reviewers", attest::demo::personas::ADMIN),
        ("start_date", today.as_str()),
        ("frequency", "OneTime"),
        ("duration_days", "14"),
        ("end_kind", "Never"),
        ("default_decision", "None"),
        ("guest_denied_action", "RemoveAccess"),
        ("recommendations", "on"),
        ("lookback_days", "30"),
    ];
    let created = app.post("/admin/access-reviews/new", &fields).await;
    assert_eq!(created.status, 303, "{}", created.text(".error-summary"));
    let path = created.header("location");
    attest::scheduler::tick(&mut app.conn(), app.clock_now()).unwrap();
    let instance = app.instance_of("Review of SCIM Research");
    let results = app.get(&format!("{path}/instances/{instance}")).await;
    assert_eq!(results.status, 200);
    let rows = results.texts("table.items tbody tr");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows.iter().any(|r| r.contains("Ada Lovelace")), "{rows:#?}");
    assert!(rows.iter().any(|r| r.contains("lin.scim@contoso.com")), "{rows:#?}");

    // The source deletes a user under review: the instance keeps its item.
    assert_eq!(scim.delete(&format!("/Users/{ada}")).await.status, 204);
    let results = app.get(&format!("{path}/instances/{instance}")).await;
    assert_eq!(results.status, 200);
    assert!(results.texts("table.items tbody tr").iter().any(|r| r.contains("Ada Lovelace")));
}
