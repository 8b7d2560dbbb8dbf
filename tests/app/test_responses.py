"""The App's webhook answers, per Saleor version, and the derived rules that judge them.

Three authorities are compared: the rules derived as code (:mod:`tests.app.saleor_rules`),
Saleor's published JSON schemas (3.22+, read from the Saleor mirror when present) and,
where a Saleor lab is installed on this machine, Saleor's own parsing code run in the
lab's interpreter. Each skips cleanly, with its reason, when its source is absent.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from saleor_optty.app.saleor.responses import (
    MESSAGE_MAX_LENGTH,
    SaleorVersion,
    action_response,
    gateway_initialize_response,
    session_response,
)
from saleor_optty.app.webhook import webhook_response

from . import saleor_rules

INIT = "TRANSACTION_INITIALIZE_SESSION"
PROCESS = "TRANSACTION_PROCESS_SESSION"
CHARGE = "TRANSACTION_CHARGE_REQUESTED"
REFUND = "TRANSACTION_REFUND_REQUESTED"
CANCEL = "TRANSACTION_CANCELATION_REQUESTED"
GATEWAY = "PAYMENT_GATEWAY_INITIALIZE_SESSION"
ACTION_OF = {CHARGE: "CHARGE", REFUND: "REFUND", CANCEL: "CANCEL"}

VERSIONS = ("3.20.119", "3.21.0", "3.22.40", "3.23.28", "3.24.0-a.0")
MIRROR = Path("/work/.mirror/saleor+saleor/repo")
LABS = {"3.20.119": Path("/work/labs/s320"), "3.23.28": Path("/work/labs/s323")}


def saleor_reads(body: dict) -> object:
    """The builder's output as it reaches Saleor: the App's JSON, read with json.loads."""
    return saleor_rules.as_saleor_reads(webhook_response(body).content)


# ------------------------------------------------------------------ builders


def builder_outputs(version: SaleorVersion) -> list[tuple[str, str, dict]]:
    """Every shape the App answers with on ``version``: (label, event, body)."""
    common = {"message": "Approved by Klarna.", "external_url": "https://portal.optty.com/orders/OPT-1"}
    outputs = []
    for event in (INIT, PROCESS):
        for result in sorted(version.session_results()):
            psp = None if result.endswith(("_FAILURE", "_ACTION_REQUIRED")) else "OPT-1"
            outputs.append(
                (
                    f"{event} {result}",
                    event,
                    session_response(
                        version,
                        result,
                        psp_reference=psp,
                        amount=Decimal("80.00"),
                        data={"redirectUrl": "https://pay.example/OPT-1", "reference": "OPT-1"},
                        actions=["REFUND"],
                        **common,
                    ),
                )
            )
    for event, action in ACTION_OF.items():
        outputs += [
            (f"{event} success", event, action_response(version, f"{action}_SUCCESS", psp_reference="OPT-1-R1", amount=Decimal("12.34"))),
            (f"{event} failure", event, action_response(version, f"{action}_FAILURE", psp_reference=None, amount=Decimal("12.34"), message="Declined.")),
            (f"{event} asynchronous", event, action_response(version, None, psp_reference="OPT-1-R1")),
        ]
    outputs.append(("gateway", GATEWAY, gateway_initialize_response({"providers": [{"name": "KLARNA"}]})))
    outputs.append(("gateway, nothing offered", GATEWAY, gateway_initialize_response({"providers": []})))
    return outputs


@pytest.mark.parametrize("version", VERSIONS)
def test_every_answer_the_app_builds_is_accepted(version):
    saleor_version = SaleorVersion.parse(version)
    for label, event, body in builder_outputs(saleor_version):
        assert saleor_rules.response_problems(version, event, saleor_reads(body)) == [], label


def test_amounts_go_as_exact_decimal_strings():
    body = session_response(SaleorVersion.parse("3.20.119"), "CHARGE_SUCCESS", psp_reference="OPT-1", amount=Decimal("1234567890123.45"))
    assert json.loads(webhook_response(body).content)["amount"] == "1234567890123.45"
    assert Decimal(saleor_reads(body)["amount"]) == Decimal("1234567890123.45")  # no float on the way
    with pytest.raises(ValueError):
        session_response(SaleorVersion.parse("3.23.28"), "CHARGE_SUCCESS", psp_reference="OPT-1", amount=80.0)
    with pytest.raises(ValueError):
        session_response(SaleorVersion.parse("3.23.28"), "CHARGE_SUCCESS", psp_reference="OPT-1", amount=Decimal(-1))
    with pytest.raises(ValueError):
        session_response(SaleorVersion.parse("3.23.28"), "CHARGE_SUCCESS", psp_reference="OPT-1", amount=Decimal("NaN"))


def test_3_20_answers_carry_an_amount_and_later_ones_may_not():
    old, new = SaleorVersion.parse("3.20.119"), SaleorVersion.parse("3.21.0")
    with pytest.raises(ValueError, match="needs an amount"):
        session_response(old, "CHARGE_ACTION_REQUIRED", psp_reference="OPT-1", amount=None)
    with pytest.raises(ValueError, match="needs an amount"):
        action_response(old, "REFUND_FAILURE", psp_reference=None)
    assert "amount" not in session_response(new, "CHARGE_ACTION_REQUIRED", psp_reference="OPT-1", amount=None)
    assert "amount" not in action_response(new, "REFUND_SUCCESS", psp_reference="R-1")


def test_the_asynchronous_answer_is_the_psp_reference_alone():
    for version in map(SaleorVersion.parse, VERSIONS):
        assert action_response(version, None, psp_reference="OPT-1-R1") == {"pspReference": "OPT-1-R1"}
        assert action_response(version, None, psp_reference="P", actions=["REFUND"]) == {"pspReference": "P", "actions": ["REFUND"]}
        with pytest.raises(ValueError):
            action_response(version, None, psp_reference="OPT-1-R1", amount=Decimal(1))
        with pytest.raises(ValueError):
            action_response(version, None, psp_reference="")


def test_cancel_success_answers_a_session_only_from_3_23():
    for version in ("3.20.119", "3.22.40"):
        with pytest.raises(ValueError):
            session_response(SaleorVersion.parse(version), "CANCEL_SUCCESS", psp_reference="OPT-1", amount=Decimal(1))
    body = session_response(SaleorVersion.parse("3.23.28"), "CANCEL_SUCCESS", psp_reference="OPT-1", amount=Decimal(1))
    assert body["result"] == "CANCEL_SUCCESS"


def test_what_no_saleor_takes_is_never_built():
    version = SaleorVersion.parse("3.23.28")
    with pytest.raises(ValueError):
        session_response(version, "CHARGE_SUCCESS", psp_reference=None, amount=Decimal(1))
    with pytest.raises(ValueError):
        session_response(version, "CHARGE_SUCCESS", psp_reference=1234, amount=Decimal(1))
    with pytest.raises(ValueError):
        session_response(version, "REFUND_SUCCESS", psp_reference="P", amount=Decimal(1))
    with pytest.raises(ValueError):
        session_response(version, "CHARGE_SUCCESS", psp_reference="P", amount=Decimal(1), external_url="javascript:alert(1)")
    with pytest.raises(ValueError):
        session_response(version, "CHARGE_SUCCESS", psp_reference="P", amount=Decimal(1), actions=["CAPTURE"])
    with pytest.raises(ValueError):
        action_response(version, "CHARGE_ACTION_REQUIRED", psp_reference="P")
    # An empty externalUrl (3.21+ refuse it) is left out, as is an empty message.
    body = session_response(version, "CHARGE_SUCCESS", psp_reference="P", amount=Decimal(1), external_url="", message="")
    assert body == {"result": "CHARGE_SUCCESS", "pspReference": "P", "amount": "1"}


def test_messages_are_cut_as_saleor_cuts_them():
    version = SaleorVersion.parse("3.23.28")
    body = session_response(version, "CHARGE_FAILURE", psp_reference=None, amount=None, message="é" * 600 + "\x00")
    assert len(body["message"]) == MESSAGE_MAX_LENGTH and body["message"].endswith("...")
    assert "\x00" not in session_response(version, "CHARGE_FAILURE", psp_reference=None, amount=None, message="a\x00b")["message"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.20.119", (3, 20, 119)),
        ("3.23.28", (3, 23, 28)),
        ("3.24.0-a.0", (3, 24, 0)),
        ("3.21", (3, 21, 0)),
        (None, (3, 20, 0)),
        ("", (3, 20, 0)),
        ("dev", (3, 20, 0)),
        (321, (3, 20, 0)),
    ],
)
def test_versions_are_read_and_garbled_ones_taken_as_the_oldest(text, expected):
    version = SaleorVersion.parse(text)
    assert (version.major, version.minor, version.patch) == expected


def test_version_features():
    def features(text):
        version = SaleorVersion.parse(text)
        return version.strict_responses, version.amount_required, version.cancel_in_session

    assert features("3.20.119") == (False, True, False)
    assert features("3.21.0") == (True, False, False)
    assert features("3.22.40") == (True, False, False)
    assert features("3.23.28") == (True, False, True)
    assert features("3.24.0-a.0") == (True, False, True)


# ------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Sample:
    """One answer, and whether Saleor 3.20.119 and 3.23.28 accept it."""

    id: str
    event: str
    body: object
    on_320: bool
    on_323: bool
    #: Where Saleor's published JSON schema (3.22+, not regenerated since) disagrees with
    #: its code: why. The schema then gives the opposite verdict of ``on_323``.
    schema_differs: str = ""


OK = {"pspReference": "OPT-1", "amount": "80.00"}
LOOSE_ASYNC = "the action schemas' asynchronous branch takes any object with a string pspReference (no additionalProperties: false)"
FORMAT = "jsonschema does not check `format` (uri, date-time) unless told to"

CORPUS = [
    Sample("session action required", INIT, {"result": "CHARGE_ACTION_REQUIRED", **OK, "data": {"redirectUrl": "https://x.example"}}, True, True),
    Sample("session success", INIT, {"result": "CHARGE_SUCCESS", **OK}, True, True),
    Sample("session authorization success", PROCESS, {"result": "AUTHORIZATION_SUCCESS", **OK}, True, True),
    Sample("session request", PROCESS, {"result": "CHARGE_REQUEST", **OK}, True, True),
    Sample("amount as a JSON number", INIT, {"result": "CHARGE_SUCCESS", "pspReference": "OPT-1", "amount": 80.5}, True, True),
    Sample("no amount", INIT, {"result": "CHARGE_SUCCESS", "pspReference": "OPT-1"}, False, True),
    Sample("no pspReference on success", INIT, {"result": "CHARGE_SUCCESS", "amount": "80.00"}, False, False),
    Sample("empty pspReference on success", INIT, {"result": "CHARGE_SUCCESS", "pspReference": "", "amount": "80.00"}, False, True),
    Sample("numeric pspReference", INIT, {"result": "CHARGE_SUCCESS", "pspReference": 123, "amount": "80.00"}, True, False),
    Sample("failure without pspReference", INIT, {"result": "CHARGE_FAILURE", "amount": "80.00"}, True, True),
    Sample("failure without amount", INIT, {"result": "AUTHORIZATION_FAILURE"}, False, True),
    Sample("null pspReference on failure", INIT, {"result": "CHARGE_FAILURE", "pspReference": None, "amount": "1"}, True, True, "the schema types pspReference as a string, without null"),
    Sample("action required without pspReference", INIT, {"result": "AUTHORIZATION_ACTION_REQUIRED", "amount": "80.00"}, True, True),
    Sample("cancel in a session", INIT, {"result": "CANCEL_SUCCESS", **OK}, False, True, "CANCEL_SUCCESS came to sessions in 3.23; the published schema predates it"),
    Sample("refund in a session", INIT, {"result": "REFUND_SUCCESS", **OK}, False, False),
    Sample("lower-case result", INIT, {"result": "charge_success", **OK}, False, False),
    Sample("no result", INIT, {**OK}, False, False),
    Sample("not an object", INIT, [{"result": "CHARGE_SUCCESS", **OK}], False, False),
    Sample("empty externalUrl", INIT, {"result": "CHARGE_SUCCESS", **OK, "externalUrl": ""}, True, False),
    Sample("externalUrl", INIT, {"result": "CHARGE_SUCCESS", **OK, "externalUrl": "https://portal.optty.com/o/1"}, True, True),
    Sample("externalUrl not a URL", INIT, {"result": "CHARGE_SUCCESS", **OK, "externalUrl": "not a url"}, True, False, FORMAT),
    Sample("amount not a number", INIT, {"result": "CHARGE_SUCCESS", "pspReference": "OPT-1", "amount": "eighty"}, False, False, "the schema takes any string as an amount"),
    Sample("long message", INIT, {"result": "CHARGE_FAILURE", "amount": "1", "message": "x" * 600}, True, True),
    Sample("numeric message", INIT, {"result": "CHARGE_FAILURE", "amount": "1", "message": 42}, True, True, "Saleor str()s any message; the schema types it as a string"),
    Sample("actions", INIT, {"result": "CHARGE_SUCCESS", **OK, "actions": ["REFUND", "CANCEL"]}, True, True),
    Sample("unknown action", INIT, {"result": "CHARGE_SUCCESS", **OK, "actions": ["CAPTURE"]}, True, True, "Saleor skips unknown actions; the schema's enum refuses them"),
    Sample("actions not a list", INIT, {"result": "CHARGE_SUCCESS", **OK, "actions": "REFUND"}, True, False),
    Sample("time", INIT, {"result": "CHARGE_SUCCESS", **OK, "time": "2026-01-02T03:04:05+00:00"}, True, True),
    Sample("time not ISO 8601", INIT, {"result": "CHARGE_SUCCESS", **OK, "time": "yesterday"}, False, False, FORMAT),
    Sample("payment method details", INIT, {"result": "CHARGE_SUCCESS", **OK, "paymentMethodDetails": {"type": "OTHER", "name": "Klarna"}}, True, True),
    Sample("charge success", CHARGE, {"result": "CHARGE_SUCCESS", **OK}, True, True),
    Sample("charge success without amount", CHARGE, {"result": "CHARGE_SUCCESS", "pspReference": "OPT-1"}, False, True),
    Sample("charge failure", CHARGE, {"result": "CHARGE_FAILURE", "amount": "80.00", "message": "Declined"}, True, True),
    Sample("charge failure without amount", CHARGE, {"result": "CHARGE_FAILURE"}, False, True),
    Sample("charge asynchronous", CHARGE, {"pspReference": "OPT-1"}, True, True),
    Sample("charge asynchronous with actions", CHARGE, {"pspReference": "OPT-1", "actions": ["REFUND"]}, True, True),
    Sample("charge asynchronous with an amount", CHARGE, {"pspReference": "OPT-1", "amount": "80.00"}, False, True),
    Sample("charge with nothing", CHARGE, {}, False, False),
    Sample("charge answered as a refund", CHARGE, {"result": "REFUND_SUCCESS", **OK}, False, False, LOOSE_ASYNC),
    Sample("charge with a numeric pspReference", CHARGE, {"result": "CHARGE_SUCCESS", "pspReference": 7, "amount": "1"}, True, False),
    Sample("charge with an empty externalUrl", CHARGE, {"result": "CHARGE_SUCCESS", **OK, "externalUrl": ""}, True, False, LOOSE_ASYNC),
    Sample("refund success", REFUND, {"result": "REFUND_SUCCESS", "pspReference": "R-1", "amount": "10.00"}, True, True),
    Sample("refund failure of 0", REFUND, {"result": "REFUND_FAILURE", "amount": "0", "message": "Nothing to refund"}, True, True),
    Sample("cancel success", CANCEL, {"result": "CANCEL_SUCCESS", **OK}, True, True),
    Sample("cancel success without pspReference", CANCEL, {"result": "CANCEL_SUCCESS", "amount": "80.00"}, False, False),
    Sample("cancel failure", CANCEL, {"result": "CANCEL_FAILURE", "amount": "80.00"}, True, True),
    Sample("gateway data", GATEWAY, {"data": {"providers": []}}, True, True),
    Sample("gateway null data", GATEWAY, {"data": None}, True, True),
    Sample("gateway empty answer", GATEWAY, {}, True, True, "Saleor validates only a non-empty answer; the schema requires data"),
    Sample("gateway without data", GATEWAY, {"providers": []}, True, False),
]


@pytest.mark.parametrize("sample", CORPUS, ids=lambda sample: sample.id)
def test_the_derived_rules_give_saleors_verdicts(sample):
    assert (saleor_rules.response_problems("3.20.119", sample.event, sample.body) == []) is sample.on_320
    assert (saleor_rules.response_problems("3.23.28", sample.event, sample.body) == []) is sample.on_323


def test_3_20_cannot_store_a_long_external_url():
    body = {"result": "CHARGE_SUCCESS", **OK, "externalUrl": "https://portal.optty.com/" + "x" * 200}
    assert saleor_rules.response_problems("3.20.119", INIT, body)
    assert saleor_rules.response_problems("3.23.28", INIT, body) == []


# ------------------------------------------------------------------ Saleor's JSON schemas

SCHEMA_FILES = {
    INIT: "TransactionInitializeSession",
    PROCESS: "TransactionProcessSession",
    CHARGE: "TransactionChargeRequested",
    REFUND: "TransactionRefundRequested",
    CANCEL: "TransactionCancelationRequested",
    GATEWAY: "PaymentGatewayInitializeSession",
}


def json_schema(revision: str, event: str) -> dict:
    if not MIRROR.is_dir():
        pytest.skip(f"Saleor's source is not mirrored at {MIRROR}; its JSON schemas cannot be read")
    path = f"saleor/json_schemas/{SCHEMA_FILES[event]}.json"
    shown = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "show", f"{revision}:{path}"], capture_output=True, text=True, timeout=60
    )
    if shown.returncode:
        pytest.skip(f"{path} is not in the mirror at {revision}: {shown.stderr.strip()}")
    return json.loads(shown.stdout)


@pytest.mark.parametrize("revision", ["3.23.28", "main"])
def test_saleors_json_schemas_agree_with_the_derived_rules(revision):
    import jsonschema

    disagreements = []
    for sample in CORPUS:
        schema_accepts = jsonschema.Draft202012Validator(json_schema(revision, sample.event)).is_valid(sample.body)
        expected = sample.on_323 != bool(sample.schema_differs)
        if schema_accepts is not expected:
            disagreements.append(f"{sample.id}: the schema {'accepts' if schema_accepts else 'refuses'} it")
    assert disagreements == []


@pytest.mark.parametrize("revision", ["3.23.28", "main"])
def test_saleors_json_schemas_accept_every_answer_the_app_builds(revision):
    import jsonschema

    version = SaleorVersion.parse("3.23.28")
    refused = [
        label
        for label, event, body in builder_outputs(version)
        if not jsonschema.Draft202012Validator(json_schema(revision, event)).is_valid(saleor_reads(body))
    ]
    # Only CANCEL_SUCCESS in a session, which the schema predates (see the corpus).
    assert refused == [f"{INIT} CANCEL_SUCCESS", f"{PROCESS} CANCEL_SUCCESS"]


# ------------------------------------------------------------------ Saleor's own code, in a lab

LAB_CHECK = r"""
import json, logging, sys
from decimal import Decimal
import django
django.setup()
logging.disable(logging.CRITICAL)
from saleor.payment import TransactionEventType
from saleor.payment import utils

REQUESTS = {"CHARGE": TransactionEventType.CHARGE_REQUEST, "REFUND": TransactionEventType.REFUND_REQUEST,
            "CANCEL": TransactionEventType.CANCEL_REQUEST}
verdicts = []
for kind, body in json.load(sys.stdin):
    try:
        if hasattr(utils, "parse_transaction_action_data_for_session_webhook"):  # 3.21+
            if kind == "SESSION":
                parsed, error = utils.parse_transaction_action_data_for_session_webhook(body, Decimal(10))
            else:
                parsed, error = utils.parse_transaction_action_data_for_action_webhook(body, REQUESTS[kind], Decimal(10))
        else:  # 3.20
            if kind == "SESSION":
                parsed, error = utils.parse_transaction_action_data(body, "session-request", event_is_optional=False)
            else:
                parsed, error = utils.parse_transaction_action_data(body, REQUESTS[kind])
        verdicts.append(parsed is not None and not error)
    except Exception:  # Saleor's parse crashed on it: refused
        verdicts.append(False)
print(json.dumps(verdicts))
"""


@pytest.mark.parametrize("version", sorted(LABS))
def test_saleors_own_parsing_gives_the_corpus_verdicts(version):
    lab = LABS[version]
    if not (lab / "venv" / "bin" / "python").exists() or not (lab / "env.sh").exists():
        pytest.skip(f"no Saleor {version} lab at {lab}")
    samples = [sample for sample in CORPUS if sample.event != GATEWAY]
    kinds = [("SESSION" if sample.event in (INIT, PROCESS) else ACTION_OF[sample.event], sample.body) for sample in samples]
    run = subprocess.run(
        ["bash", "-c", f'. "{lab}/env.sh" && cd "{lab}/src" && DJANGO_SETTINGS_MODULE=saleor.settings exec python -c "$0"', LAB_CHECK],
        input=json.dumps(kinds),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    verdicts = json.loads(run.stdout.strip().splitlines()[-1])
    expected = [sample.on_320 if version == "3.20.119" else sample.on_323 for sample in samples]
    assert {s.id: v for s, v in zip(samples, verdicts)} == {s.id: e for s, e in zip(samples, expected)}
