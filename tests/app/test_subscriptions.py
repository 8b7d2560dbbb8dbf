"""The App's subscription queries pass the checks Saleor makes when it installs the App.

Saleor 3.20.119 and 3.23.28 validate each manifest webhook's query with
``SubscriptionQuery`` (saleor/graphql/webhook/subscription_query.py, called by
``_clean_webhooks`` in saleor/app/manifest_validations.py): every GraphQL validation
rule against its schema, a subscription operation, ``event`` as its only top field, and
the events named by the ``... on <Type>`` selections under it. The same checks run here
against the three schemas in tests/schema/; tests/integration/test_app_cart.py runs
Saleor's own ``SubscriptionQuery`` where Saleor is installed.
"""

import re
from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, specified_rules, validate
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
)
from graphql.validation import OverlappingFieldsCanBeMergedRule

from saleor_optty.app.saleor.subscriptions import WEBHOOKS, webhook_for

SCHEMAS = sorted((Path(__file__).parents[1] / "schema").glob("schema-*.graphql"))
SIX_EVENTS = {
    "PAYMENT_GATEWAY_INITIALIZE_SESSION",
    "TRANSACTION_INITIALIZE_SESSION",
    "TRANSACTION_PROCESS_SESSION",
    "TRANSACTION_CHARGE_REQUESTED",
    "TRANSACTION_REFUND_REQUESTED",
    "TRANSACTION_CANCELATION_REQUESTED",
}


@cache
def schema(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text(encoding="utf-8"))


def saleor_snake_case(name: str) -> str:
    """graphene's ``to_snake_case``, which Saleor applies to the event type's name."""
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)).lower()


def saleor_events(query: str) -> list[str]:
    """The events Saleor's ``SubscriptionQuery`` finds in a query; fails where it refuses one."""
    document = parse(query)
    subscriptions = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode) and definition.operation == OperationType.SUBSCRIPTION
    ]
    assert subscriptions, "Subscription operation can't be found."
    top_fields = [selection.name.value for selection in subscriptions[0].selection_set.selections]
    assert top_fields == ["event"], "Subscription must select only one top field, `event`."
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    found: list[str] = []
    (event,) = subscriptions[0].selection_set.selections
    assert isinstance(event, FieldNode)
    for selection in event.selection_set.selections:
        if isinstance(selection, InlineFragmentNode) and selection.type_condition:
            found.append(selection.type_condition.name.value)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            if fragment.type_condition.name.value != "Event":
                found.append(fragment.type_condition.name.value)
            else:
                found += [
                    inner.type_condition.name.value
                    for inner in fragment.selection_set.selections
                    if isinstance(inner, InlineFragmentNode) and inner.type_condition
                ]
    assert found, "Can't find a single event."
    return sorted({saleor_snake_case(name) for name in found})


def test_the_three_schemas_are_there():
    assert [path.name for path in SCHEMAS] == [
        "schema-3.20.119.graphql",
        "schema-3.23.28.graphql",
        "schema-main-3.24.0a0.graphql",
    ]


def test_there_is_one_webhook_per_sync_event_with_its_own_route():
    assert {spec.event for spec in WEBHOOKS} == SIX_EVENTS
    assert len({spec.path for spec in WEBHOOKS}) == len({spec.name for spec in WEBHOOKS}) == 6
    for spec in WEBHOOKS:
        assert spec.path == "api/webhooks/" + spec.event.lower().replace("_", "-")


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.stem)
@pytest.mark.parametrize("spec", WEBHOOKS, ids=lambda spec: spec.event)
def test_every_query_is_valid_for_every_saleor(spec, path):
    assert OverlappingFieldsCanBeMergedRule in specified_rules
    errors = validate(schema(path), parse(spec.query), specified_rules)
    assert errors == [], [error.message for error in errors]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.stem)
def test_the_rules_refuse_lines_of_two_shapes_under_one_name(path):
    """What Saleor 3.23.28 refused at install (the reference's last section): the App's
    queries alias the order's lines because of it."""
    query = """
    subscription {
      event {
        ... on TransactionInitializeSession {
          sourceObject {
            ... on Checkout { lines { variant { id } } }
            ... on Order { lines { variant { id } } }
          }
        }
      }
    }
    """
    errors = validate(schema(path), parse(query), specified_rules)
    assert [error.message for error in errors if "lines" in error.message], errors


@pytest.mark.parametrize("spec", WEBHOOKS, ids=lambda spec: spec.event)
def test_saleor_finds_exactly_the_webhooks_event_in_its_query(spec):
    assert saleor_events(spec.query) == [spec.event.lower()]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.stem)
def test_every_event_is_one_the_manifest_may_name(path):
    """``syncEvents`` must hold names of WebhookEventTypeSyncEnum, or the install fails."""
    sync_events = schema(path).type_map["WebhookEventTypeSyncEnum"].values
    assert SIX_EVENTS <= set(sync_events)


@pytest.mark.parametrize("spec", WEBHOOKS, ids=lambda spec: spec.event)
def test_every_query_selects_what_every_event_carries(spec):
    """The App checks ``__typename`` against its route and ``recipient.id`` against its
    own id, and reads Saleor's ``version``, on every body."""
    (operation,) = parse(spec.query).definitions
    assert isinstance(operation, OperationDefinitionNode)
    (event,) = operation.selection_set.selections
    fields = {selection.name.value for selection in event.selection_set.selections if isinstance(selection, FieldNode)}
    assert {"__typename", "issuedAt", "version", "recipient"} <= fields


def test_a_webhook_is_found_by_its_event_in_either_case():
    spec = webhook_for("TRANSACTION_INITIALIZE_SESSION")
    assert webhook_for("transaction_initialize_session") is spec  # as in the Saleor-Event header
    assert "... on TransactionInitializeSession {" in spec.query
    with pytest.raises(KeyError):
        webhook_for("PAYMENT_LIST_GATEWAYS")
