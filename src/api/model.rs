//! The JSON shapes of the API, as Graph v1.0 writes them. The handlers serialize these
//! types and the OpenAPI document (`/openapi.json`, see [`super::openapi`]) is derived from
//! the same types, so the document cannot drift from what is answered.
//!
//! Request bodies are read leniently (unknown properties and `@odata.type` are accepted, as
//! Graph does) from JSON values; their types here describe what is read, for the document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `@odata.type` of a series.
pub const DEFINITION_TYPE: &str = "#microsoft.graph.accessReviewScheduleDefinition";
/// `@odata.type` of an occurrence of a series for one resource.
pub const INSTANCE_TYPE: &str = "#microsoft.graph.accessReviewInstance";
/// `@odata.type` of a decision item.
pub const DECISION_TYPE: &str = "#microsoft.graph.accessReviewInstanceDecisionItem";
/// `@odata.type` of a person.
pub const USER_IDENTITY_TYPE: &str = "#microsoft.graph.userIdentity";
/// `@odata.type` of a query scope.
pub const QUERY_SCOPE_TYPE: &str = "#microsoft.graph.accessReviewQueryScope";
/// `@odata.type` of an inactive-users scope.
pub const INACTIVE_SCOPE_TYPE: &str = "#microsoft.graph.accessReviewInactiveUsersQueryScope";
/// `@odata.type` of a reviewer scope.
pub const REVIEWER_SCOPE_TYPE: &str = "#microsoft.graph.accessReviewReviewerScope";

/// A person as Graph names one (`reviewedBy`, `appliedBy`, `principal`, `createdBy`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `#microsoft.graph.userIdentity`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The user's id; all zeros when nobody (not reviewed, not applied).
    pub id: String,
    /// The user's name; empty when nobody.
    pub display_name: String,
    /// The user's UPN, when known.
    pub user_principal_name: Option<String>,
}

impl UserIdentity {
    /// A person.
    pub fn new(id: impl Into<String>, display_name: impl Into<String>, upn: Option<String>) -> Self {
        Self {
            odata_type: USER_IDENTITY_TYPE,
            id: id.into(),
            display_name: display_name.into(),
            user_principal_name: upn,
        }
    }

    /// Nobody, as Graph writes it (a decision not yet taken or applied).
    pub fn nobody() -> Self {
        Self::new("00000000-0000-0000-0000-000000000000", "", Some(String::new()))
    }
}

/// What a series reviews, who reviews it, or who is told: a Graph query.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// `#microsoft.graph.accessReviewQueryScope`, `…InactiveUsersQueryScope`,
    /// `…ReviewerScope` or `…NotificationRecipientQueryScope`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The query, e.g. `/groups/{id}/transitiveMembers` or `/users/{id}`.
    pub query: String,
    /// Always `MicrosoftGraph`.
    pub query_type: &'static str,
    /// Where a relative query starts (`decisions` for managers), or null.
    pub query_root: Option<String>,
    /// For inactive users: how long without a sign-in (`P30D`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactive_duration: Option<String>,
}

impl Scope {
    /// A scope of `odata_type` with `query`.
    pub fn new(odata_type: &'static str, query: impl Into<String>, root: Option<&str>) -> Self {
        Self {
            odata_type,
            query: query.into(),
            query_type: "MicrosoftGraph",
            query_root: root.map(str::to_owned),
            inactive_duration: None,
        }
    }
}

/// Who besides the reviewers hears that a review completed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecipient {
    /// `#microsoft.graph.accessReviewNotificationRecipientItem`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// `CompletedAdditionalRecipients`.
    pub notification_template_type: &'static str,
    /// The recipient: `/users/{upn}`.
    pub notification_recipient_scope: Scope,
}

/// An action applying takes (`removeAccessApplyAction`, `disableAndDeleteUserApplyAction`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplyAction {
    /// The action.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
}

/// How a series recurs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recurrence {
    /// Null for a one-time review.
    pub pattern: Option<Pattern>,
    /// When it starts and ends.
    pub range: Range,
}

/// The recurrence pattern.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pattern {
    /// `weekly` or `absoluteMonthly`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Every how many weeks or months.
    pub interval: i32,
}

/// The recurrence range.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    /// `noEnd`, `endDate` or `numbered`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The first day (`2026-01-31`).
    pub start_date: String,
    /// The last day, for `endDate`.
    pub end_date: Option<String>,
    /// How many occurrences, for `numbered` (0 otherwise).
    pub number_of_occurrences: i32,
}

/// A series' settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// `#microsoft.graph.accessReviewScheduleSettings`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// Whether reviewers are mailed when a review starts.
    pub mail_notifications_enabled: bool,
    /// Whether reviewers who have not finished are reminded.
    pub reminder_notifications_enabled: bool,
    /// Whether an approval needs a reason.
    pub justification_required_on_approval: bool,
    /// Whether items nobody reviewed get `defaultDecision` at the end.
    pub default_decision_enabled: bool,
    /// `None`, `Approve`, `Deny` or `Recommendation`.
    pub default_decision: &'static str,
    /// How long each occurrence runs.
    pub instance_duration_in_days: i32,
    /// Whether results are applied when an occurrence ends.
    pub auto_apply_decisions_enabled: bool,
    /// Whether reviewers see recommendations.
    pub recommendations_enabled: bool,
    /// How far back sign-ins count for recommendations (`P30D`).
    pub recommendation_look_back_duration: String,
    /// What applying a denial does.
    pub apply_actions: Vec<ApplyAction>,
    /// How the series recurs.
    pub recurrence: Recurrence,
    /// Whether reviewers of later stages see earlier stages' decisions (multi-stage series
    /// only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_histories_for_reviewers_enabled: Option<bool>,
}

/// A review series (Graph's `accessReviewScheduleDefinition`). The list leaves out
/// `scope`, `instanceEnumerationScope`, `reviewers` and `fallbackReviewers`; one series
/// read by id has them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    /// The metadata URL of the entity, on a single series.
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    pub odata_context: Option<String>,
    /// `#microsoft.graph.accessReviewScheduleDefinition`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The series' id.
    pub id: String,
    /// Its name.
    pub display_name: String,
    /// When it was created.
    pub created_date_time: String,
    /// When it last changed.
    pub last_modified_date_time: String,
    /// `InProgress` or `Completed`.
    pub status: &'static str,
    /// What admins are told.
    pub description_for_admins: String,
    /// What reviewers are told.
    pub description_for_reviewers: String,
    /// Who created it.
    pub created_by: UserIdentity,
    /// Its settings.
    pub settings: Settings,
    /// Who is told when it completes.
    pub additional_notification_recipients: Vec<NotificationRecipient>,
    /// Who is reviewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Which resources, when there are several (or all Microsoft 365 groups with guests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_enumeration_scope: Option<Scope>,
    /// Who reviews; empty: each person reviews their own access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewers: Option<Vec<Scope>>,
    /// Who reviews when no reviewer is found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reviewers: Option<Vec<Scope>>,
    /// The stages of a multi-stage series (absent for one stage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_settings: Option<Vec<StageSettings>>,
}

/// One stage of a multi-stage instance (Graph's `accessReviewStage`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// `#microsoft.graph.accessReviewStage`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// Its number: "1", "2" or "3".
    pub id: String,
    /// When it started (for a stage to come, when it is planned to).
    pub start_date_time: String,
    /// When it ends (or ended).
    pub end_date_time: String,
    /// `NotStarted`, `InProgress` or `Completed`.
    pub status: &'static str,
}

/// One stage of a multi-stage series (Graph's `accessReviewStageSettings`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageSettings {
    /// "1", "2" or "3".
    pub stage_id: String,
    /// The stage it follows (empty for the first).
    pub depends_on: Vec<String>,
    /// How long it runs.
    pub duration_in_days: i32,
    /// Whether its reviewers see recommendations.
    pub recommendations_enabled: bool,
    /// The decisions whose people move on to the next stage (empty for the last):
    /// `Approve`, `Deny`, `DontKnow`, `NotReviewed`, `Recommendation`.
    pub decisions_that_will_move_to_next_stage: Vec<&'static str>,
    /// Who reviews it; empty: each person reviews their own access.
    pub reviewers: Vec<Scope>,
    /// Who reviews what its reviewers may not.
    pub fallback_reviewers: Vec<Scope>,
}

/// One occurrence of a series for one resource (Graph's `accessReviewInstance`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// `#microsoft.graph.accessReviewInstance`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The instance's id.
    pub id: String,
    /// When it starts.
    pub start_date_time: String,
    /// When it ends.
    pub end_date_time: String,
    /// `NotStarted`, `InProgress`, `Completed`, `Applying` or `Applied`.
    pub status: &'static str,
    /// Who it reviews.
    pub scope: Scope,
}

/// The resource of a decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionResource {
    /// `#microsoft.graph.accessReviewInstanceDecisionItemResource`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The group's, application's or role's id.
    pub id: String,
    /// Its name.
    pub display_name: String,
    /// `group`, `servicePrincipal` or `directoryRole`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// What a recommendation is based on: the person's last sign-in.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInInsight {
    /// `#microsoft.graph.userSignInInsight`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// When the insight was made (null: at the instance's start).
    pub insight_created_date_time: Option<String>,
    /// The last sign-in, or null when none is known.
    pub last_sign_in_date_time: Option<String>,
}

/// One person's access in an instance (Graph's `accessReviewInstanceDecisionItem`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionItem {
    /// `#microsoft.graph.accessReviewInstanceDecisionItem`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The item's id.
    pub id: String,
    /// The instance's id.
    pub access_review_id: String,
    /// `Approve`, `Deny`, `DontKnow` or `NotReviewed`.
    pub decision: &'static str,
    /// The reviewer's reason.
    pub justification: String,
    /// `Approve`, `Deny` or `NoInfoAvailable`.
    pub recommendation: &'static str,
    /// When it was decided.
    pub reviewed_date_time: Option<String>,
    /// Who decided.
    pub reviewed_by: UserIdentity,
    /// When the decision was applied.
    pub applied_date_time: Option<String>,
    /// `New`, `AppliedSuccessfully`, `AppliedWithUnknownFailure`,
    /// `AppliedSuccessfullyButObjectNotFound`, `ApplyNotSupported` or `NotApplied`.
    pub apply_result: &'static str,
    /// Who applied it.
    pub applied_by: UserIdentity,
    /// The person, as a Graph URL.
    pub principal_link: String,
    /// The resource, as a Graph URL.
    pub resource_link: String,
    /// The person.
    pub principal: UserIdentity,
    /// The resource.
    pub resource: DecisionResource,
    /// What the recommendation is based on.
    pub insights: Vec<SignInInsight>,
}

/// A reviewer an occurrence's mails went to (Graph's `accessReviewReviewer`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reviewer {
    /// `#microsoft.graph.accessReviewReviewer`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The user's id.
    pub id: String,
    /// Their name.
    pub display_name: String,
    /// Their UPN (null when they are no longer in the directory).
    pub user_principal_name: Option<String>,
    /// When they were last mailed (the start or a reminder).
    pub created_date_time: String,
}

/// A page of a collection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The metadata URL of the collection.
    #[serde(rename = "@odata.context")]
    pub odata_context: String,
    /// How many objects the collection holds in all (with `$count=true`, where supported).
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// The page's objects.
    pub value: Vec<T>,
    /// The absolute URL of the next page (with `$skiptoken`), when there is one.
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// An error, as Graph answers one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Graph's code: `BadRequest`, `InvalidAuthenticationToken`, `Forbidden`,
    /// `ResourceNotFound`, `Conflict`, `TooManyRequests`, …
    pub code: &'static str,
    /// What to fix, in words.
    pub message: String,
    /// The request's id and time, to quote when asking for help.
    pub inner_error: InnerError,
}

/// The request an error belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InnerError {
    /// The request's id (also in the `request-id` header).
    #[serde(rename = "request-id")]
    pub request_id: String,
    /// The same id.
    #[serde(rename = "client-request-id")]
    pub client_request_id: String,
    /// When it failed (UTC).
    pub date: String,
}

/// A token, as `POST /oauth2/v2.0/token` answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenAnswer {
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds the token lasts.
    pub expires_in: i64,
    /// The same, as Entra's v1 endpoint also says it.
    pub ext_expires_in: i64,
    /// The bearer token.
    pub access_token: String,
}

/// The body of a decision's PATCH.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DecisionPatch {
    /// `Approve`, `Deny` or `DontKnow`.
    pub decision: Option<String>,
    /// The reason (required for approvals when the series says so).
    #[serde(default)]
    pub justification: Option<String>,
}

/// The body of `batchRecordDecisions`: one decision for every item the caller reviews (or
/// the one person's, with `principalId`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchBody {
    /// `Approve`, `Deny` or `DontKnow`.
    pub decision: Option<String>,
    /// The reason.
    pub justification: Option<String>,
    /// Only this person's items.
    pub principal_id: Option<String>,
}

/// A scope in a request body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScopeInput {
    /// Accepted and ignored; the query says what it is.
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    /// E.g. `/groups/{id}/transitiveMembers`, `/users/{id}`, `./manager`.
    pub query: String,
    /// `MicrosoftGraph`.
    pub query_type: Option<String>,
    /// `decisions` for `./manager`.
    pub query_root: Option<String>,
    /// For inactive users (`P30D`).
    pub inactive_duration: Option<String>,
}

/// The recurrence in a request body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RecurrenceInput {
    /// `{"type": "weekly" | "absoluteMonthly", "interval": n}`; absent or null: one time.
    pub pattern: Option<serde_json::Value>,
    /// `{"type": "noEnd" | "endDate" | "numbered", "startDate", "endDate", "numberOfOccurrences"}`.
    pub range: Option<serde_json::Value>,
}

/// The settings in a request body; each absent one keeps its default (or, in a PATCH, its
/// value).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsInput {
    /// Mail reviewers when a review starts.
    pub mail_notifications_enabled: Option<bool>,
    /// Remind reviewers who have not finished.
    pub reminder_notifications_enabled: Option<bool>,
    /// An approval needs a reason.
    pub justification_required_on_approval: Option<bool>,
    /// Decide what nobody reviewed at the end.
    pub default_decision_enabled: Option<bool>,
    /// `None`, `Approve`, `Deny` or `Recommendation`.
    pub default_decision: Option<String>,
    /// Days each occurrence runs.
    pub instance_duration_in_days: Option<i32>,
    /// Apply results when an occurrence ends.
    pub auto_apply_decisions_enabled: Option<bool>,
    /// Show recommendations.
    pub recommendations_enabled: Option<bool>,
    /// `P30D`, …
    pub recommendation_look_back_duration: Option<String>,
    /// `[{"@odata.type": "#microsoft.graph.removeAccessApplyAction"}]` or
    /// `…disableAndDeleteUserApplyAction`.
    pub apply_actions: Option<Vec<serde_json::Value>>,
    /// How it recurs.
    pub recurrence: Option<RecurrenceInput>,
}

/// A series in a request body (POST, PUT, PATCH). Unknown properties are ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionInput {
    /// The name (required on POST and PUT).
    pub display_name: Option<String>,
    /// What admins are told.
    pub description_for_admins: Option<String>,
    /// What reviewers are told.
    pub description_for_reviewers: Option<String>,
    /// Who is reviewed.
    pub scope: Option<ScopeInput>,
    /// Which resources, for several or all Microsoft 365 groups with guests.
    pub instance_enumeration_scope: Option<ScopeInput>,
    /// Who reviews (empty: self-review).
    pub reviewers: Option<Vec<ScopeInput>>,
    /// Who reviews when no reviewer is found.
    pub fallback_reviewers: Option<Vec<ScopeInput>>,
    /// The settings.
    pub settings: Option<SettingsInput>,
    /// Who is told when it completes: `[{"notificationRecipientScope": {"query": "/users/{upn}"}}]`.
    pub additional_notification_recipients: Option<Vec<serde_json::Value>>,
}

/// An error of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type` or `invalid_scope`.
    pub error: &'static str,
    /// What to fix.
    pub error_description: String,
}

/// `@odata.type` of a review-history report definition.
pub const HISTORY_DEFINITION_TYPE: &str = "#microsoft.graph.accessReviewHistoryDefinition";
/// `@odata.type` of a review-history report's instance.
pub const HISTORY_INSTANCE_TYPE: &str = "#microsoft.graph.accessReviewHistoryInstance";

/// Which reviews a review-history report covers, as the client sent it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryScope {
    /// As sent (`#microsoft.graph.accessReviewQueryScope` when none was).
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// The reviews, e.g. `/identityGovernance/accessReviews/definitions?$filter=contains(scope/query,
    /// '/groups')`: a query naming `/groups` reports on groups, `/servicePrincipals` on
    /// applications, `roleManagement` or `roleDefinitions` on roles.
    pub query: String,
    /// As sent (`MicrosoftGraph` when none was).
    pub query_type: String,
    /// As sent.
    pub query_root: Option<String>,
}

/// A review-history report (Graph's `accessReviewHistoryDefinition`): the decisions of the
/// reviews of a period, as the admin page's review-history CSV. attest writes the report
/// when it is downloaded, so it is `done` at once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDefinition {
    /// The metadata URL of the entity, on a single report.
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    pub odata_context: Option<String>,
    /// `#microsoft.graph.accessReviewHistoryDefinition`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The report's id.
    pub id: String,
    /// Its name.
    pub display_name: String,
    /// The period's start: reviews still running on or after its day.
    pub review_history_period_start_date_time: String,
    /// The period's end: reviews started on or before its day.
    pub review_history_period_end_date_time: String,
    /// Which decisions: `approve`, `deny`, `dontKnow`, `notReviewed`, `notNotified` (attest
    /// notifies every reviewer, so it adds nothing).
    pub decisions: Vec<String>,
    /// Which reviews, as sent; empty: every kind of resource.
    pub scopes: Vec<HistoryScope>,
    /// `done`.
    pub status: &'static str,
    /// When it was asked for.
    pub created_date_time: String,
    /// When it was ready (at once).
    pub fulfilled_date_time: String,
    /// Who asked for it (a person, or an API client).
    pub created_by: UserIdentity,
}

/// The report of a review-history definition (Graph's `accessReviewHistoryInstance`):
/// one per definition, with its id.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryInstance {
    /// `#microsoft.graph.accessReviewHistoryInstance`.
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    /// The instance's id (the definition's).
    pub id: String,
    /// The period's start.
    pub review_history_period_start_date_time: String,
    /// The period's end.
    pub review_history_period_end_date_time: String,
    /// `done`.
    pub status: &'static str,
    /// When it ran.
    pub run_date_time: String,
    /// When it was ready.
    pub fulfilled_date_time: String,
    /// When `downloadUri` stops working (null until one is generated).
    pub expiration_date_time: Option<String>,
    /// The CSV, downloadable without a token until `expirationDateTime` (null until
    /// `generateDownloadUri`).
    pub download_uri: Option<String>,
}

/// A review-history report in a request body. Unknown properties are ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDefinitionInput {
    /// The name (required).
    pub display_name: Option<String>,
    /// `approve`, `deny`, `dontKnow`, `notReviewed`, `notNotified` (any case); absent or
    /// empty: every decision.
    pub decisions: Option<Vec<String>>,
    /// The period's start, RFC 3339 (`2026-09-01T00:00:00Z`; required).
    pub review_history_period_start_date_time: Option<String>,
    /// The period's end, RFC 3339, not before the start (required).
    pub review_history_period_end_date_time: Option<String>,
    /// Which reviews: queries naming `/groups`, `/servicePrincipals`, `roleManagement` or
    /// `roleDefinitions`; absent or empty: every kind of resource.
    pub scopes: Option<Vec<ScopeInput>>,
}
