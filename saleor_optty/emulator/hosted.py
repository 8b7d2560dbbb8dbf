"""The hosted approval page: where Optty would send the shopper to the provider.

Browser tests click the buttons by id: ``#approve``, ``#decline``, ``#cancel``,
``#pending``. Each is a submit button named ``decision`` in one form that POSTs to
``/hosted/{orderToken}/decision``. Every value shown is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from .state import FINAL_STATUSES, Order

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1f2a44;margin:0}
main{max-width:560px;margin:40px auto;background:#fff;border-radius:10px;padding:28px 32px;
box-shadow:0 2px 10px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 4px}
.sandbox{display:inline-block;font-size:.75rem;background:#ffe8a3;border-radius:4px;padding:2px 8px;
margin-bottom:16px}
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;margin:16px 0}
dt{color:#5c667a}dd{margin:0;font-weight:600}
table{width:100%;border-collapse:collapse;margin:12px 0 20px;font-size:.9rem}
th,td{text-align:left;padding:6px 4px;border-bottom:1px solid #e6e8ec}
td.num,th.num{text-align:right}
.actions{display:flex;flex-wrap:wrap;gap:10px}
button{font:inherit;border:0;border-radius:6px;padding:10px 16px;cursor:pointer;color:#fff}
#approve{background:#1b7f4b}#decline{background:#b3261e}
#cancel{background:#5c667a}#pending{background:#b26a00}
.status{font-size:1.1rem;font-weight:700}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main><span class="sandbox">Optty emulator sandbox</span>{body}</main></body></html>\n'
    )


def _summary(order: Order) -> str:
    rows = [
        ("reference", "Merchant reference", order.reference),
        ("provider", "Provider", order.provider.name),
        ("amount", "Amount", f"{order.amount} {order.currency}"),
    ]
    if order.surcharge:
        rows.append(("surcharge", "Surcharge", f"{order.surcharge} {order.currency}"))
    return (
        "<dl>"
        + "".join(f'<dt>{label}</dt><dd id="{key}">{escape(value)}</dd>' for key, label, value in rows)
        + "</dl>"
    )


def approval_page(order: Order) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(item['name']))}</td>"
        f'<td class="num">{escape(str(item["quantity"]))}</td>'
        f'<td class="num">{escape(str(item["unitPrice"]))}</td>'
        f'<td class="num">{escape(str(item["totalAmount"]))}</td>'
        "</tr>"
        for item in order.items
    )
    items = (
        '<table id="items"><thead><tr><th>Item</th><th class="num">Qty</th>'
        f'<th class="num">Unit price</th><th class="num">Total</th></tr></thead><tbody>{rows}</tbody></table>'
    )
    if order.status in FINAL_STATUSES:
        actions = f'<p class="status" id="status">This order is already {escape(order.status)}.</p>'
    else:
        token = escape(order.order_token, quote=True)
        actions = (
            f'<form method="post" action="/hosted/{token}/decision" class="actions">'
            '<button type="submit" id="approve" name="decision" value="approve">Approve</button>'
            '<button type="submit" id="decline" name="decision" value="decline">Decline</button>'
            '<button type="submit" id="cancel" name="decision" value="cancel">Cancel</button>'
            '<button type="submit" id="pending" name="decision" value="pending">Leave pending</button>'
            "</form>"
        )
    title = f"Pay with {order.provider.name}"
    return _page(title, f"<h1>{escape(title)}</h1>{_summary(order)}{items}{actions}")


def result_page(order: Order, shown_status: str) -> str:
    """Shown after a decision when the order has no dynamicRedirectUrl to return to."""
    body = (
        "<h1>Payment finished</h1>"
        f"{_summary(order)}"
        f'<p class="status" id="status">{escape(shown_status)}</p>'
        "<p>The order had no dynamicRedirectUrl, so the shopper stays here.</p>"
    )
    return _page("Payment finished", body)


def message_page(title: str, message: str) -> str:
    return _page(title, f'<h1>{escape(title)}</h1><p id="message">{escape(message)}</p>')
