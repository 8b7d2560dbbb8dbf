"""The documentation cannot drift from the code or from Saleor.

- Every ```graphql block in README.md and docs/*.md must validate against the GraphQL
  schemas of the Saleor versions we support (copies in tests/schema/, because a user's
  checkout has nothing beside it).
- The README must keep documenting the whole storefront flow and the staff operations,
  for the plugin and for the App.
- What the README names must exist: its ``make`` targets, its ``manage.py optty_*``
  commands, every field of the plugin's Dashboard configuration, and every message it
  quotes under "Troubleshooting" and "Troubleshooting the App".
"""

import re
from functools import cache
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate
from graphql.language import FieldNode, visit
from graphql.language.visitor import Visitor

from saleor_optty.consts import APP_ID, GATEWAY_ID
from saleor_optty.core.config import FIELD_TEXT

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SCHEMAS = {
    # The LTS release and the newest release the integration suite runs on, and
    # Saleor's main branch, which deprecates the legacy payment API but still serves it.
    "3.20.119": ROOT / "tests/schema/schema-3.20.119.graphql",
    "3.23.28": ROOT / "tests/schema/schema-3.23.28.graphql",
    "main (3.24.0a0)": ROOT / "tests/schema/schema-main-3.24.0a0.graphql",
}

_FENCE = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def graphql_blocks():
    """(label, text) of every ```graphql block; the label is file:line for failures."""
    blocks = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((f"{path.relative_to(ROOT)}:{line}", match.group(1)))
    return blocks


BLOCKS = graphql_blocks()


@cache
def schema(version: str) -> GraphQLSchema:
    return build_schema(SCHEMAS[version].read_text(encoding="utf-8"))


@pytest.mark.parametrize("version", SCHEMAS)
@pytest.mark.parametrize("label, text", BLOCKS, ids=[label for label, _ in BLOCKS])
def test_graphql_documents_are_valid_for_saleor(label, text, version):
    errors = validate(schema(version), parse(text))
    assert not errors, f"{label} is not valid for Saleor {version}:\n" + "\n".join(
        f"  {error.message}" for error in errors
    )


def _fields_used(text: str) -> set[str]:
    used: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_):
            used.add(node.name.value)

    visit(parse(text), Collect())
    return used


def test_the_readme_documents_the_storefront_flow_and_staff_operations():
    used = set().union(*(_fields_used(text) for label, text in BLOCKS if label.startswith("README.md")))
    flow = {"availablePaymentGateways", "checkoutPaymentCreate", "checkoutComplete", "confirmationData"}
    staff = {"orderCapture", "orderRefund", "orderVoid"}
    assert flow | staff <= used, f"README lost the documents for: {sorted(flow | staff - used)}"
    assert any(f'gateway: "{GATEWAY_ID}"' in text for _, text in BLOCKS)


def test_the_readme_documents_the_app_s_storefront_flow_install_and_staff_operations():
    used = set().union(*(_fields_used(text) for label, text in BLOCKS if label.startswith("README.md")))
    app = {"appInstall", "paymentGatewayInitialize", "transactionInitialize", "transactionProcess", "transactionRequestAction"}
    assert app <= used, f"README lost the App's documents for: {sorted(app - used)}"
    assert any(f'id: "{APP_ID}"' in text for _, text in BLOCKS)


# What the README names must exist --------------------------------------------------------

_README = README.read_text(encoding="utf-8")


def _code(markdown: str) -> str:
    """The text of every fenced block and inline code span."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL))
    return "\n".join(fenced + inline)


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", _README, flags=re.MULTILINE | re.DOTALL)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_make_targets_in_the_readme_exist():
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))
    named = set(re.findall(r"(?:^|\s)make ([a-z][\w-]*)", _code(_README), flags=re.MULTILINE))
    assert {"demo", "test"} <= named
    assert named <= targets, f"README names make targets that do not exist: {sorted(named - targets)}"


def test_management_commands_in_the_readme_exist():
    commands = {path.stem for path in (ROOT / "saleor_optty/plugin/management/commands").glob("optty_*.py")}
    named = set(re.findall(r"manage\.py (optty_\w+)", _README))
    assert named <= commands, f"README names commands that do not exist: {sorted(named - commands)}"


def _configuration_labels() -> set[str]:
    """The labels of the plugin's (and the App's) configuration fields."""
    return {text.label for text in FIELD_TEXT.values()}


def test_the_dashboard_table_lists_exactly_the_plugins_fields():
    rows = [line for line in _section("Configuring in the Dashboard").splitlines() if line.startswith("| ")]
    documented = {name for row in rows[1:] for name in row.split("|")[1].strip().split(", ")}
    assert documented == _configuration_labels()


def _package_source() -> str:
    """The code that produces the plugin's and the App's messages (the demo and
    optty-check quote some)."""
    quoting = {ROOT / "saleor_optty/diagnostics.py", ROOT / "saleor_optty/demo"}
    paths = (ROOT / "saleor_optty").rglob("*.py")
    return "\n".join(
        path.read_text(encoding="utf-8") for path in paths if not quoting & {path, *path.parents}
    )


@pytest.mark.parametrize("section, at_least", [("Troubleshooting", 20), ("Troubleshooting the App", 20)])
def test_troubleshooting_quotes_messages_the_code_really_produces(section, at_least):
    """Each quoted message, split at its ``<placeholders>``, must appear piece by piece."""
    source = _package_source()
    quoted = [
        span
        for span in re.findall(r"`([^`\n]+)`", _section(section))
        if span[0].isupper() and span.count(" ") >= 2
    ]
    assert len(quoted) >= at_least
    stale = []
    for message in quoted:
        pieces = (piece.strip(" '\":;,.()") for piece in re.split(r"<[^>]+>", message))
        stale += [f"{message!r}: {piece!r}" for piece in pieces if len(piece) >= 12 and piece not in source]
    assert not stale, "README quotes messages the code no longer produces:\n" + "\n".join(stale)
