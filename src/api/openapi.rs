//! The API's OpenAPI 3.1 document, served at `/openapi.json` and shown to people at
//! `/api-docs`. The schemas are derived from the types the handlers serialize
//! ([`super::model`]); the operations are listed here, next to the routes they describe,
//! in one table ([`OPERATIONS`]) that a test checks against the routes.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Ref, RefOr, Required, ResponseBuilder, Schema, Server};
use utoipa::{OpenApi, PartialSchema};

use super::model::{
    BatchBody, DecisionItem, DecisionPatch, Definition, DefinitionInput, ErrorBody, HistoryDefinition,
    HistoryDefinitionInput, HistoryInstance, Instance, OAuthError, Page, Reviewer, Stage, StageSettings, TokenAnswer,
};
use super::{BASE, MAX_BODY_BYTES, REQUESTS_PER_MINUTE, odata};
use crate::domain::apply::ApplyResult;
use crate::domain::decision::Decision;
use crate::domain::review::InstanceStatus;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "attest access reviews API",
        description = "Access reviews in the shapes of Microsoft Graph v1.0 \
                       (`/v1.0/identityGovernance/accessReviews`): code written for Graph works against attest \
                       with another base URL and token. Get a token with the client-credentials grant at \
                       `/oauth2/v2.0/token` (an API client an admin registered), or use a personal access token \
                       (`attest_pat_…`) made on the portal's *API tokens* page, which acts as that person. \
                       Collections page with `$top` and an absolute `@odata.nextLink`; single objects and \
                       collections also take `$select`."
    ),
    components(schemas(
        Definition,
        Stage,
        StageSettings,
        Instance,
        DecisionItem,
        Reviewer,
        ErrorBody,
        TokenAnswer,
        OAuthError,
        DecisionPatch,
        BatchBody,
        DefinitionInput,
        HistoryDefinition,
        HistoryInstance,
        HistoryDefinitionInput
    ))
)]
struct Document;

/// What an operation answers when it works.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// 200 with one object of this schema.
    One(&'static str),
    /// 201 with one object of this schema.
    Created(&'static str),
    /// 200 with a page of objects of this schema.
    Page(&'static str),
    /// 204, no body.
    Nothing,
    /// 200 with a token.
    Token,
    /// 200 with a CSV file, for a signed link's holder (no token).
    Csv,
}

/// One operation of the API.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// GET, POST, PATCH, PUT or DELETE.
    pub method: &'static str,
    /// The path below the API's base (or from the root, for the token endpoint).
    pub path: &'static str,
    /// One line for people.
    pub summary: &'static str,
    /// The request body's schema, if it takes one.
    pub body: Option<&'static str>,
    /// What it answers.
    pub answer: Answer,
    /// Whether it takes `$top` and `$skiptoken`.
    pub paged: bool,
    /// What `$filter` understands, when it takes one (and `$count`).
    pub filter: Option<Filtered>,
}

const fn get(path: &'static str, summary: &'static str, answer: Answer) -> Operation {
    Operation { method: "GET", path, summary, body: None, answer, paged: false, filter: None }
}

const fn page(path: &'static str, summary: &'static str, schema: &'static str) -> Operation {
    Operation { paged: true, ..get(path, summary, Answer::Page(schema)) }
}

const fn post(path: &'static str, summary: &'static str, body: Option<&'static str>, answer: Answer) -> Operation {
    Operation { method: "POST", body, ..get(path, summary, answer) }
}

const DEFINITION: &str = "/definitions/{definition}";
const HISTORY: &str = "/historyDefinitions/{definition}";
const INSTANCE: &str = "/definitions/{definition}/instances/{instance}";
/// A collection's `$filter` (and `$count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtered {
    /// Series: what they review, their name and status.
    Definitions,
    /// Decision items: decision, recommendation and applyResult.
    Decisions,
    /// Instances: status.
    Instances,
}

impl Filtered {
    /// What the filter understands, with an example.
    /// The orders the collection can be listed in.
    fn order(self) -> &'static str {
        match self {
            Self::Definitions => "displayName (the order it is kept in)",
            Self::Instances => "startDateTime or endDateTime, asc or desc (newest first by default)",
            Self::Decisions => "principal/displayName (the order it is kept in)",
        }
    }

    fn about(self) -> String {
        match self {
            Self::Definitions => "contains(scope/query, 'text'), also with the scope's type \
                                  (scope/microsoft.graph.accessReviewQueryScope/query), \
                                  contains, eq or ne on instanceEnumerationScope/query and displayName, eq or ne \
                                  on status, joined by and, or and parentheses (contains(scope/query, '/groups'))"
                .to_owned(),
            Self::Decisions => format!(
                "decision, recommendation and applyResult compared with eq or ne and a quoted value \
                 (decision eq '{}' or applyResult ne '{}'), joined by and, or and parentheses",
                Decision::Deny,
                ApplyResult::New
            ),
            Self::Instances => format!(
                "status compared with eq or ne (status eq '{}' or status eq '{}')",
                InstanceStatus::InProgress,
                InstanceStatus::Completed
            ),
        }
    }
}

/// Every operation, in the order the routes are declared.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "POST",
        path: "/oauth2/v2.0/token",
        summary: "Get a bearer token with the client-credentials grant (form: grant_type, client_id, \
                  client_secret, scope)",
        body: Some("TokenForm"),
        answer: Answer::Token,
        paged: false,
        filter: None,
    },
    Operation {
        filter: Some(Filtered::Definitions),
        ..page("/definitions", "List the review series the caller may see, each whole", "Definition")
    },
    page(
        "/definitions/filterByCurrentUser(on='reviewer')",
        "List the review series the calling person reviews in",
        "Definition",
    ),
    post("/definitions", "Create a review series", Some("DefinitionInput"), Answer::Created("Definition")),
    get(DEFINITION, "Read a review series with its scope and reviewers", Answer::One("Definition")),
    Operation {
        method: "PATCH",
        ..post(DEFINITION, "Change what the body names", Some("DefinitionInput"), Answer::One("Definition"))
    },
    Operation {
        method: "PUT",
        ..post(DEFINITION, "Replace a review series", Some("DefinitionInput"), Answer::One("Definition"))
    },
    Operation { method: "DELETE", ..get(DEFINITION, "Delete a review series (its history is kept)", Answer::Nothing) },
    post(
        "/definitions/{definition}/stop",
        "Stop a review series: its instances in progress stop and no other starts",
        None,
        Answer::Nothing,
    ),
    Operation {
        filter: Some(Filtered::Instances),
        ..page("/definitions/{definition}/instances", "List a series' instances", "Instance")
    },
    Operation {
        filter: Some(Filtered::Instances),
        ..page(
            "/definitions/{definition}/instances/filterByCurrentUser(on='reviewer')",
            "List the instances of a series the caller reviews",
            "Instance",
        )
    },
    get(INSTANCE, "Read an instance", Answer::One("Instance")),
    post("/definitions/{definition}/instances/{instance}/stop", "Stop an instance early", None, Answer::Nothing),
    post(
        "/definitions/{definition}/instances/{instance}/resetDecisions",
        "Put every decision of an instance back to not reviewed",
        None,
        Answer::Nothing,
    ),
    post(
        "/definitions/{definition}/instances/{instance}/applyDecisions",
        "Apply the decisions of an ended instance",
        None,
        Answer::Nothing,
    ),
    post(
        "/definitions/{definition}/instances/{instance}/acceptRecommendations",
        "Decide every item the caller reviews as recommended",
        None,
        Answer::Nothing,
    ),
    post(
        "/definitions/{definition}/instances/{instance}/sendReminder",
        "Mail a reminder now to every reviewer who has not finished",
        None,
        Answer::Nothing,
    ),
    get(
        "/definitions/{definition}/instances/{instance}/stages",
        "List the stages of a multi-stage instance (none for one stage)",
        Answer::Page("Stage"),
    ),
    post(
        "/definitions/{definition}/instances/{instance}/stages/{stage}/stop",
        "End the stage in progress now: the next starts, or the review completes after its last",
        None,
        Answer::Nothing,
    ),
    page(
        "/definitions/{definition}/instances/{instance}/contactedReviewers",
        "List who the instance's mails went to",
        "Reviewer",
    ),
    post(
        "/definitions/{definition}/instances/{instance}/batchRecordDecisions",
        "Decide every item the caller reviews (or one person's)",
        Some("BatchBody"),
        Answer::Nothing,
    ),
    Operation {
        filter: Some(Filtered::Decisions),
        ..page(
            "/definitions/{definition}/instances/{instance}/decisions",
            "List an instance's decision items",
            "DecisionItem",
        )
    },
    Operation {
        filter: Some(Filtered::Decisions),
        ..page(
            "/definitions/{definition}/instances/{instance}/decisions/filterByCurrentUser(on='reviewer')",
            "List the decision items the caller reviews",
            "DecisionItem",
        )
    },
    get(
        "/definitions/{definition}/instances/{instance}/decisions/{item}",
        "Read a decision item",
        Answer::One("DecisionItem"),
    ),
    Operation {
        method: "PATCH",
        ..post(
            "/definitions/{definition}/instances/{instance}/decisions/{item}",
            "Record the caller's decision on an item",
            Some("DecisionPatch"),
            Answer::Nothing,
        )
    },
    page("/historyDefinitions", "List the review-history reports (admins and API clients)", "HistoryDefinition"),
    post(
        "/historyDefinitions",
        "Ask for a review-history report: the admin page's CSV for a period, decisions and kinds of resource",
        Some("HistoryDefinitionInput"),
        Answer::Created("HistoryDefinition"),
    ),
    get(HISTORY, "Read a review-history report", Answer::One("HistoryDefinition")),
    Operation {
        method: "DELETE",
        ..get(HISTORY, "Delete a review-history report (its download links stop working)", Answer::Nothing)
    },
    page(
        "/historyDefinitions/{definition}/instances",
        "List a review-history report's instance (one, with the report's id)",
        "HistoryInstance",
    ),
    post(
        "/historyDefinitions/{definition}/instances/{instance}/generateDownloadUri",
        "Get a link to the report's CSV that works without a token for 24 hours",
        None,
        Answer::One("HistoryInstance"),
    ),
    get(
        "/historyDefinitions/{definition}/instances/{instance}/report.csv",
        "Download the report as CSV with the link generateDownloadUri gives (no token: the link is signed)",
        Answer::Csv,
    ),
];

impl Operation {
    /// The path as the document (and a client) writes it.
    pub fn full_path(&self) -> String {
        if self.path.starts_with("/oauth2") { self.path.to_owned() } else { format!("{BASE}{}", self.path) }
    }

    fn http_method(&self) -> HttpMethod {
        match self.method {
            "POST" => HttpMethod::Post,
            "PATCH" => HttpMethod::Patch,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            _ => HttpMethod::Get,
        }
    }

    fn build(&self) -> utoipa::openapi::path::Operation {
        let json = |schema: RefOr<Schema>| Content::new(Some(schema));
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content("application/json", json(Ref::from_schema_name("ErrorBody").into()))
        };
        let is_token = matches!(self.answer, Answer::Token);
        let is_link = matches!(self.answer, Answer::Csv);
        let mut op = OperationBuilder::new()
            .summary(Some(self.summary))
            .operation_id(Some(format!("{} {}", self.method, self.path)))
            .tag(if is_token { "authentication" } else { "access reviews" });
        for name in ["definition", "instance", "stage", "item"] {
            if self.path.contains(&format!("{{{name}}}")) {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
        }
        if self.paged {
            let query = |name: &str, description: String, schema: ObjectBuilder| {
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(description))
                    .schema(Some(schema))
            };
            op = op
                .parameter(query(
                    "$top",
                    format!("Objects per page, 1 to {} ({} by default).", odata::MAX_TOP, odata::DEFAULT_TOP),
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(i32::try_from(odata::MAX_TOP).unwrap_or(i32::MAX))),
                ))
                .parameter(query(
                    "$skiptoken",
                    "Where the page starts: follow `@odata.nextLink` as given.".into(),
                    ObjectBuilder::new().schema_type(Type::String),
                ));
            if let Some(filter) = self.filter {
                op = op
                    .parameter(query(
                        "$filter",
                        format!("Which items: {}.", filter.about()),
                        ObjectBuilder::new().schema_type(Type::String),
                    ))
                    .parameter(query(
                        "$count",
                        "true: the answer also says how many objects the filter lists (`@odata.count`).".into(),
                        ObjectBuilder::new().schema_type(Type::Boolean),
                    ))
                    .parameter(query(
                        "$orderby",
                        format!("The order: {}; another is refused (400).", filter.order()),
                        ObjectBuilder::new().schema_type(Type::String),
                    ));
            }
        }
        if is_link {
            for (name, about) in [
                ("expires", "When the link stops working, in seconds since 1970: as generateDownloadUri gives it."),
                ("sig", "The link's signature: as generateDownloadUri gives it."),
            ] {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Query)
                        .required(Required::True)
                        .description(Some(about))
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
        }
        if let Some(body) = self.body {
            let request = if body == "TokenForm" {
                RequestBodyBuilder::new().content("application/x-www-form-urlencoded", json(token_form()))
            } else {
                RequestBodyBuilder::new().content("application/json", json(Ref::from_schema_name(body).into()))
            };
            let required = if body == "BatchBody" { Required::False } else { Required::True };
            op = op.request_body(Some(
                request
                    .description(Some(format!("At most {} MiB.", MAX_BODY_BYTES / (1024 * 1024))))
                    .required(Some(required))
                    .build(),
            ));
        }
        op = match self.answer {
            Answer::One(schema) => op.response(
                "200",
                ResponseBuilder::new()
                    .description("The object.")
                    .content("application/json", json(Ref::from_schema_name(schema).into())),
            ),
            Answer::Created(schema) => op.response(
                "201",
                ResponseBuilder::new()
                    .description("Created; `Location` names it.")
                    .content("application/json", json(Ref::from_schema_name(schema).into())),
            ),
            Answer::Page(schema) => op.response(
                "200",
                ResponseBuilder::new().description("A page.").content("application/json", json(page_of(schema))),
            ),
            Answer::Nothing => op.response("204", ResponseBuilder::new().description("Done.")),
            Answer::Csv => op
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("The report as CSV (UTF-8 with a byte order mark), as the admin page's download.")
                        .content("text/csv", Content::new(Some(ObjectBuilder::new().schema_type(Type::String)))),
                )
                .response("403", error("The link is not one attest made, or has expired: generate a new one."))
                .response("404", error("The report was deleted.")),
            Answer::Token => op
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("A short-lived bearer token.")
                        .content("application/json", json(Ref::from_schema_name("TokenAnswer").into())),
                )
                .response(
                    "400",
                    ResponseBuilder::new()
                        .description("The request, grant or scope cannot be used.")
                        .content("application/json", json(Ref::from_schema_name("OAuthError").into())),
                )
                .response(
                    "401",
                    ResponseBuilder::new()
                        .description("Unknown client, wrong secret, or a revoked or expired client.")
                        .content("application/json", json(Ref::from_schema_name("OAuthError").into())),
                ),
        };
        if !is_token && !is_link {
            op = op
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .security(SecurityRequirement::new("clientCredentials", Vec::<String>::new()))
                .response("400", error("The request cannot be used: the message says what to fix."))
                .response("401", error("No token, or one that is invalid, expired or revoked."))
                .response("403", error("The caller's permission does not allow this."))
                .response("404", error("No such object, or one the caller may not see."))
                .response("409", error("The object's state does not allow this now."))
                .response("413", error("The body is too large."))
                .response(
                    "429",
                    error(&format!(
                        "More requests a minute than allowed ({REQUESTS_PER_MINUTE} by default): wait for Retry-After."
                    )),
                );
        }
        op.build()
    }
}

/// The token endpoint's form.
fn token_form() -> RefOr<Schema> {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .property("grant_type", text().description(Some("client_credentials")))
        .property("client_id", text())
        .property("client_secret", text())
        .property("scope", text().description(Some("https://graph.microsoft.com/.default")))
        .required("grant_type")
        .into()
}

/// A page of `schema` objects.
fn page_of(schema: &str) -> RefOr<Schema> {
    match schema {
        "Definition" => Page::<Definition>::schema(),
        "Instance" => Page::<Instance>::schema(),
        "Reviewer" => Page::<Reviewer>::schema(),
        "HistoryDefinition" => Page::<HistoryDefinition>::schema(),
        "HistoryInstance" => Page::<HistoryInstance>::schema(),
        _ => Page::<DecisionItem>::schema(),
    }
}

/// The document, naming `public_url` as its server.
pub fn document(public_url: &str) -> utoipa::openapi::OpenApi {
    let public_url = public_url.trim_end_matches('/');
    let mut doc = Document::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![Server::new(public_url)]);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A token from /oauth2/v2.0/token, or a personal access token (attest_pat_…)."))
                .build(),
        ),
    );
    components.add_security_scheme(
        "clientCredentials",
        SecurityScheme::OAuth2(OAuth2::new([Flow::ClientCredentials(ClientCredentials::new(
            format!("{public_url}/oauth2/v2.0/token"),
            Scopes::from_iter([("https://graph.microsoft.com/.default", "What the client's permission allows")]),
        ))])),
    );
    for op in OPERATIONS {
        doc.paths.add_path_operation(op.full_path(), vec![op.http_method()], op.build());
    }
    doc
}

/// The page that shows the document to people (`/api-docs`): every operation and every
/// object, read from the document itself, server-rendered (no script).
#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "api/docs.html")]
pub struct DocsPage {
    description: String,
    base_url: String,
    operations: Vec<OperationView>,
    schemas: Vec<SchemaView>,
}

struct OperationView {
    method: &'static str,
    path: String,
    summary: &'static str,
    parameters: Vec<ParameterView>,
    body: Option<&'static str>,
    answers: Vec<(String, String)>,
}

struct ParameterView {
    name: String,
    place: String,
    about: String,
}

struct SchemaView {
    name: String,
    about: String,
    properties: Vec<PropertyView>,
}

struct PropertyView {
    name: String,
    kind: String,
    /// The object it names, to link to.
    link: Option<String>,
    about: String,
}

/// A JSON schema's type in words, and the object it names, if any.
fn kind_of(schema: &serde_json::Value) -> (String, Option<String>) {
    use serde_json::Value;
    if let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) {
        return (name.to_owned(), Some(name.to_owned()));
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let kinds: Vec<(String, Option<String>)> = options.iter().map(kind_of).collect();
        let link = kinds.iter().find_map(|(_, l)| l.clone());
        return (kinds.into_iter().map(|(k, _)| k).collect::<Vec<_>>().join(" or "), link);
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"array") {
        let (inner, link) = schema.get("items").map(kind_of).unwrap_or(("any".into(), None));
        return (format!("array of {inner}"), link);
    }
    if types.is_empty() { ("any".into(), None) } else { (types.join(" or "), None) }
}

impl DocsPage {
    /// The page for a portal at `public_url`.
    pub fn new(public_url: &str) -> Self {
        use serde_json::Value;
        let doc = serde_json::to_value(document(public_url)).unwrap_or_default();
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut operations = Vec::new();
        for op in OPERATIONS {
            let path = op.full_path();
            let spec = &doc["paths"][&path][op.method.to_ascii_lowercase()];
            let parameters = spec["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| ParameterView { name: text(p, "name"), place: text(p, "in"), about: text(p, "description") })
                .collect();
            let answers = spec["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, r)| (status.clone(), text(r, "description")))
                .collect();
            operations.push(OperationView {
                method: op.method,
                path,
                summary: op.summary,
                parameters,
                body: op.body.filter(|b| *b != "TokenForm"),
                answers,
            });
        }
        let schemas = doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, s)| {
                let properties = s["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(prop, p)| {
                        let (kind, link) = kind_of(p);
                        PropertyView { name: prop.clone(), kind, link, about: text(p, "description") }
                    })
                    .collect();
                SchemaView { name: name.clone(), about: text(s, "description"), properties }
            })
            .collect();
        Self {
            description: text(&doc["info"], "description"),
            base_url: format!("{}{BASE}", public_url.trim_end_matches('/')),
            operations,
            schemas,
        }
    }
}
