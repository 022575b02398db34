"""An access review's whole life through Microsoft's Graph SDK for Python (msgraph-sdk),
written as an admin writes it for Microsoft Graph and pointed at attest by changing only the
base URL and the credential.

Usage:
  ATTEST_CLIENT_ID=… ATTEST_CLIENT_SECRET=… ATTEST_REVIEWER_TOKEN=attest_pat_… \\
      python sdk_example.py http://127.0.0.1:8080

The admin's part (list, create, read, change, stop, apply, delete series) runs as an
application client (client-credentials grant, AccessReview.ReadWrite.All), as Graph scripts
usually do: with azure-identity's ClientSecretCredential when attest is served over https,
with a token provider of its own over http (why: see the credential's note below).
The reviewer's part (filterByCurrentUser, recording decisions) runs with a personal access
token of an owner of a group that an existing series reviews by its owners: decisions are
always a person's, in Graph (delegated permission) as in attest.

Every step prints one line; any failure ends the script with a non-zero status.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import sys
import time
from typing import Any

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.identity_governance.access_reviews.definitions.definitions_request_builder import (
    DefinitionsRequestBuilder,
)
from msgraph.generated.identity_governance.access_reviews.definitions.item.access_review_schedule_definition_item_request_builder import (  # noqa: E501
    AccessReviewScheduleDefinitionItemRequestBuilder,
)
from msgraph.generated.identity_governance.access_reviews.definitions.item.instances.item.batch_record_decisions.batch_record_decisions_post_request_body import (  # noqa: E501
    BatchRecordDecisionsPostRequestBody,
)
from msgraph.generated.identity_governance.access_reviews.definitions.item.instances.item.decisions.decisions_request_builder import (  # noqa: E501
    DecisionsRequestBuilder,
)
from msgraph.generated.models.access_review_instance_decision_item import AccessReviewInstanceDecisionItem
from msgraph.generated.models.access_review_query_scope import AccessReviewQueryScope
from msgraph.generated.models.access_review_reviewer_scope import AccessReviewReviewerScope
from msgraph.generated.models.access_review_schedule_definition import AccessReviewScheduleDefinition
from msgraph.generated.models.access_review_schedule_settings import AccessReviewScheduleSettings
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph_core.tasks.page_iterator import PageIterator

SCOPE = "https://graph.microsoft.com/.default"


# The credential. The SDK's standard path is azure-identity's ClientSecretCredential with
# attest as the authority; this script takes it when attest is served over https (as in
# production, see admin_client below):
#
#   credential = azure.identity.aio.ClientSecretCredential(
#       "attest", client_id, client_secret, authority="https://attest.example.org",
#       disable_instance_discovery=True)
#
# It cannot work against the local http server sdk-run starts (azure-identity 1.27.0 and
# msal 1.39.0, see requirements-sdk.txt):
#  1. azure-identity refuses any authority that is not https, in the async credential as in
#     the sync one (azure.identity._internal.utils.normalize_authority): "ValueError:
#     'http://127.0.0.1:…' is an invalid authority. The value must be a TLS protected (https)
#     URL." attest can do nothing about it; only TLS in front of attest can.
#  2. The sync azure.identity.ClientSecretCredential (MSAL) also reads the tenant's OpenID
#     configuration, GET {authority}/{tenant}/v2.0/.well-known/openid-configuration, for the
#     token endpoint before it posts to it; attest answers 404 there, so get_token fails with
#     "Unable to get authority configuration for https://…/attest". The async credential
#     (azure.identity.aio, which msgraph-sdk being async should be given anyway) posts straight
#     to {authority}/{tenant}/oauth2/v2.0/token and works: run behind a TLS proxy, this whole
#     script passed with it.
# So over http the SDK is given a kiota access-token provider that does what the credential
# does: the client-credentials grant at attest's token endpoint (the token kept until a
# minute before it expires). Everything else is the SDK's own request adapter and builders.
class ClientCredentialsProvider(AccessTokenProvider):
    """An app-only token from attest's `/oauth2/v2.0/token` (client-credentials grant)."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, allowed_host: str) -> None:
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.validator = AllowedHostsValidator([allowed_host])
        self.token, self.expires_at = "", 0.0

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict[str, Any] = {}) -> str:
        if not self.validator.is_url_host_valid(uri):
            return ""
        if time.monotonic() > self.expires_at - 60:
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    self.token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                        "scope": SCOPE,
                    },
                )
            answer.raise_for_status()
            body = answer.json()
            self.token, self.expires_at = body["access_token"], time.monotonic() + float(body["expires_in"])
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.validator


class StaticTokenProvider(AccessTokenProvider):
    """A personal access token (attest_pat_…), made by its owner on attest's /tokens page: the
    delegated token, in Graph, of a reviewer signed in with MSAL's interactive flow."""

    def __init__(self, token: str, allowed_host: str) -> None:
        self.token = token
        self.validator = AllowedHostsValidator([allowed_host])

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict[str, Any] = {}) -> str:
        return self.token if self.validator.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self.validator


def client(base: str, provider: AccessTokenProvider) -> GraphServiceClient:
    """The SDK's client with attest's base URL (set before the client is made: the client
    copies it into its request builders)."""
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(provider))
    adapter.base_url = f"{base}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def step(text: str) -> None:
    print(f"ok   {text}", flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def id_after(query: str, prefix: str) -> str | None:
    if not query.startswith(prefix):
        return None
    return query[len(prefix) :].split("/")[0].split("?")[0] or None


async def review(
    reviewer: GraphServiceClient,
    series: AccessReviewScheduleDefinitionItemRequestBuilder,
    created: AccessReviewScheduleDefinition,
    group_id: str,
) -> None:
    """Steps 4 to 10: read, change, the occurrence, its decisions, stop and apply."""
    # 4. Read back.
    again = await series.get()
    check(again is not None and again.display_name == created.display_name, "read-back differs")
    check(
        isinstance(again.scope, AccessReviewQueryScope) and group_id in (again.scope.query or ""),
        f"read-back scope is {again.scope!r}",
    )
    step(f"get definition: {again.display_name!r}, status {again.status}")

    # 4b. A change: the SDK has no PATCH for a definition (Graph v1.0 documents PUT of
    #     the whole object), so the object read is changed and put back.
    again.display_name = f"{created.display_name} (renamed)"
    # The SDK read settings.recommendationLookBackDuration ("P30D") as a timedelta and
    # writes it back as str(timedelta), "30 days, 0:00:00": attest reads both.
    await series.put(again)
    again = await series.get()
    check(again is not None and again.display_name.endswith("(renamed)"), f"after PUT: {again.display_name!r}")
    check(again.settings is not None and again.settings.instance_duration_in_days == 7, "PUT changed the settings")
    step(f"put definition: displayName {again.display_name!r}")

    # 5. Its occurrence, once the scheduler has started it.
    instance = None
    for _ in range(60):
        instances = await series.instances.get()
        if instances and instances.value:
            instance = instances.value[0]
            if instance.status == "InProgress":
                break
        await asyncio.sleep(0.5)
    check(instance is not None and instance.status == "InProgress", f"no instance in progress: {instance!r}")
    start, end = instance.start_date_time, instance.end_date_time
    step(f"list instances: {instance.id} {instance.status} from {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    occurrence = series.instances.by_access_review_instance_id(instance.id)

    # 6. What is still to decide, a page of 5.
    undecided = await occurrence.decisions.get(
        RequestConfiguration(
            query_parameters=DecisionsRequestBuilder.DecisionsRequestBuilderGetQueryParameters(
                filter="decision eq 'NotReviewed'", top=5, count=True
            )
        )
    )
    check(undecided is not None and bool(undecided.value), "no undecided items")
    check(all(d.decision == "NotReviewed" for d in undecided.value), "$filter let a decided item through")
    check(len(undecided.value) <= 5, "$top=5 answered more than 5")
    check(undecided.odata_count is not None and undecided.odata_count >= len(undecided.value), "no @odata.count")
    step(
        f"list decisions $filter=decision eq 'NotReviewed' $top=5 $count=true: {len(undecided.value)} of"
        f" {undecided.odata_count}{', more at @odata.nextLink' if undecided.odata_next_link else ''}"
    )

    # 7. Who was told (the reviewers mailed when it started).
    contacted = await occurrence.contacted_reviewers.get()
    names = [r.display_name for r in (contacted.value if contacted else None) or []]
    step(f"contactedReviewers: {', '.join(names) or 'nobody yet'}")

    # 8. As the reviewer: their occurrences and items.
    mine_series = reviewer.identity_governance.access_reviews.definitions.by_access_review_schedule_definition_id(
        created.id
    )
    my_instances = await mine_series.instances.filter_by_current_user_with_on("reviewer").get()
    check(
        my_instances is not None and any(i.id == instance.id for i in my_instances.value or []),
        "the reviewer does not see the instance",
    )
    mine = mine_series.instances.by_access_review_instance_id(instance.id)
    my_items = await mine.decisions.filter_by_current_user_with_on("reviewer").get()
    check(my_items is not None and len(my_items.value or []) >= 2, "the reviewer has fewer than 2 items")
    step(
        f"filterByCurrentUser(on='reviewer'): {len(my_instances.value)} instance(s), "
        f"{len(my_items.value)} items to review"
    )

    # 9. One decision (PATCH), then one person's by batchRecordDecisions.
    denied, approved = my_items.value[0], my_items.value[1]
    await mine.decisions.by_access_review_instance_decision_item_id(denied.id).patch(
        AccessReviewInstanceDecisionItem(decision="Deny", justification="Left the project in October.")
    )
    got = await mine.decisions.by_access_review_instance_decision_item_id(denied.id).get()
    check(got is not None and got.decision == "Deny", f"after PATCH the decision is {got and got.decision}")
    step(f"PATCH decision: {denied.principal.display_name} Deny (reviewed by {got.reviewed_by.display_name})")
    await mine.batch_record_decisions.post(
        BatchRecordDecisionsPostRequestBody(
            decision="Approve", justification="Still on the project.", principal_id=approved.principal.id
        )
    )
    got = await mine.decisions.by_access_review_instance_decision_item_id(approved.id).get()
    check(got is not None and got.decision == "Approve", f"after batchRecordDecisions: {got and got.decision}")
    step(f"batchRecordDecisions: {approved.principal.display_name} Approve")

    # 10. The admin ends the occurrence and applies its decisions.
    await occurrence.stop.post()
    stopped = await occurrence.get()
    step(f"stop: instance {stopped.status}")
    await occurrence.apply_decisions.post()
    applied = None
    for _ in range(60):
        applied = await occurrence.decisions.by_access_review_instance_decision_item_id(denied.id).get()
        if applied and applied.apply_result not in (None, "New", "Applying"):
            break
        await asyncio.sleep(0.5)
    result = applied.apply_result if applied else None
    check((result or "").startswith("AppliedSuccessfully"), f"the denial's applyResult is {result}")
    after = await occurrence.get()
    step(
        f"applyDecisions: {denied.principal.display_name} applyResult {applied.apply_result}"
        f" at {applied.applied_date_time:%Y-%m-%d %H:%M}; instance {after.status}"
    )


async def lifecycle(admin: GraphServiceClient, reviewer: GraphServiceClient) -> None:
    reviews = admin.identity_governance.access_reviews

    # 1. Every series, two a page, following @odata.nextLink with the SDK's PageIterator.
    two_a_page = DefinitionsRequestBuilder.DefinitionsRequestBuilderGetQueryParameters(top=2)
    first = await reviews.definitions.get(RequestConfiguration(query_parameters=two_a_page))
    check(first is not None and first.value is not None, "no definitions collection")
    everything: list[AccessReviewScheduleDefinition] = []
    iterator = PageIterator(first, admin.request_adapter, error_mapping={"XXX": ODataError})

    def keep(series: AccessReviewScheduleDefinition) -> bool:
        everything.append(series)
        return True

    await iterator.iterate(keep)
    check(len(everything) >= 3, f"only {len(everything)} series over the pages")
    check(bool(first.odata_next_link), "a first page of 2 has no @odata.nextLink")
    step(f"list definitions: {len(everything)} series in pages of 2 (PageIterator over @odata.nextLink)")

    # 2. A group of the directory reviewed by its owners, one of whom holds the reviewer
    #    token: read from an existing series (the API has no /groups) whose scope is
    #    /groups/{id}/… and whose reviewers are /groups/{id}/owners, and which the token's
    #    holder reviews (filterByCurrentUser finds its occurrence).
    group_id = None
    for series in everything:
        full = await reviews.definitions.by_access_review_schedule_definition_id(series.id).get()
        query = full.scope.query if full and isinstance(full.scope, AccessReviewQueryScope) else ""
        gid = id_after(query or "", "/groups/")
        if not gid or not any((r.query or "") == f"/groups/{gid}/owners" for r in full.reviewers or []):
            continue
        theirs = await reviewer.identity_governance.access_reviews.definitions.by_access_review_schedule_definition_id(
            series.id
        ).instances.filter_by_current_user_with_on("reviewer").get()
        if theirs and theirs.value:
            group_id = gid
            step(f"group {gid}: scope of {full.display_name!r}, reviewed by its owners, the reviewer among them")
            break
    check(group_id is not None, "no series reviews, by its owners, a group the reviewer owns")

    # 3. A one-time review of all the group's members by the group's owners, starting today.
    today = datetime.datetime.now(datetime.timezone.utc).date()
    created = await reviews.definitions.post(
        AccessReviewScheduleDefinition(
            display_name=f"Graph SDK example {datetime.datetime.now():%H:%M:%S}",
            description_for_admins="Made by tests/api-conformance/sdk_example.py",
            description_for_reviewers="Does each member still need this group?",
            scope=AccessReviewQueryScope(query=f"/groups/{group_id}/transitiveMembers", query_type="MicrosoftGraph"),
            reviewers=[AccessReviewReviewerScope(query=f"/groups/{group_id}/owners", query_type="MicrosoftGraph")],
            settings=AccessReviewScheduleSettings(
                mail_notifications_enabled=True,
                reminder_notifications_enabled=True,
                justification_required_on_approval=False,
                default_decision_enabled=False,
                default_decision="None",
                instance_duration_in_days=7,
                recommendations_enabled=True,
                recurrence=PatternedRecurrence(
                    range=RecurrenceRange(
                        type=RecurrenceRangeType.Numbered, number_of_occurrences=1, start_date=today
                    )
                ),
            ),
        )
    )
    check(created is not None and bool(created.id), "POST definitions returned no id")
    definition_id = created.id
    step(f"create definition {definition_id}: the group's members, reviewed by its owners, from today")
    series = reviews.definitions.by_access_review_schedule_definition_id(definition_id)
    try:
        await review(reviewer, series, created, group_id)
    except BaseException:
        # Deleted also when a step failed, so that a rerun starts clean; the step's error
        # is the one reported.
        with contextlib.suppress(Exception):
            await series.delete()
        raise

    # 11. Delete the series.
    await series.delete()
    listed: list[str] = []
    left = await reviews.definitions.get()
    iterator = PageIterator(left, admin.request_adapter, error_mapping={"XXX": ODataError})
    await iterator.iterate(lambda d: listed.append(d.id) or True)
    check(definition_id not in listed, "the deleted definition is still listed")
    step(f"delete definition {definition_id}: no longer listed")
    # As in Graph, a deleted definition is gone: reading it by id is a 404.
    try:
        gone = await series.get()
        check(False, f"the deleted definition can still be read (status {gone.status})")
    except ODataError as e:
        check(e.response_status_code == 404, f"a deleted definition answers {e.response_status_code}")


def admin_client(base: str, host: str, client_id: str, client_secret: str) -> tuple[GraphServiceClient, Any]:
    """The application client's SDK client, and the credential to close (or None)."""
    if base.startswith("https://"):
        from azure.identity.aio import ClientSecretCredential
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )

        credential = ClientSecretCredential(
            "attest", client_id, client_secret, authority=base, disable_instance_discovery=True
        )
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[SCOPE], allowed_hosts=[host])
        adapter = GraphRequestAdapter(auth)
        adapter.base_url = f"{base}/v1.0"
        return GraphServiceClient(request_adapter=adapter), credential
    provider = ClientCredentialsProvider(f"{base}/oauth2/v2.0/token", client_id, client_secret, host)
    return client(base, provider), None


async def main() -> int:
    base = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ATTEST_URL", "")).rstrip("/")
    if not base:
        print(__doc__, file=sys.stderr)
        return 2
    host = httpx.URL(base).host
    admin, credential = admin_client(base, host, os.environ["ATTEST_CLIENT_ID"], os.environ["ATTEST_CLIENT_SECRET"])
    reviewer = client(base, StaticTokenProvider(os.environ["ATTEST_REVIEWER_TOKEN"], host))
    try:
        await lifecycle(admin, reviewer)
    except ODataError as e:
        error = e.error
        print(
            f"FAIL {e.response_status_code} {error.code if error else ''}: {error.message if error else e}",
            file=sys.stderr,
        )
        return 1
    except Exception as e:  # noqa: BLE001 — any failure is the script's failure
        print(f"FAIL {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        if credential is not None:
            await credential.close()
    print("ok   the whole lifecycle through msgraph-sdk")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
