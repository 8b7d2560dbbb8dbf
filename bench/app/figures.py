"""The App's figures, with their budgets (issue 11, "Performance"; None: reported only).

``run.py`` prints them in this order with ``bench.figures.report``. Figures marked
"Saleor lab" need a real Saleor (``SALEOR_LAB``); the others run against the Saleor
stand-in of the App's test suite, anywhere.
"""

from __future__ import annotations

from bench.figures import Figure, at_most, below, exactly

#: Saleor's read timeout for a sync webhook (WEBHOOK_SYNC_TIMEOUT), seconds.
SALEOR_SYNC_TIMEOUT = 18

#: The sync webhooks, by the short name their figures use.
SYNC_WEBHOOKS = {
    "gateway_initialize": "PAYMENT_GATEWAY_INITIALIZE_SESSION",
    "transaction_initialize": "TRANSACTION_INITIALIZE_SESSION",
    "transaction_process": "TRANSACTION_PROCESS_SESSION",
    "charge": "TRANSACTION_CHARGE_REQUESTED",
    "refund": "TRANSACTION_REFUND_REQUESTED",
    "cancel": "TRANSACTION_CANCELATION_REQUESTED",
}

#: The Saleor mutations whose webhook the App serves, for the CPU budget against Saleor.
MUTATIONS = {
    "gateway_initialize": "paymentGatewayInitialize",
    "transaction_initialize": "transactionInitialize",
    "transaction_process": "transactionProcess",
}

FIGURES = [
    Figure("app_create_orders", "A1 create-order calls per App checkout", "", exactly(1)),
    Figure("app_status_checks", "A1 status checks per checkout (return, callback, process)", "", at_most(1)),
    Figure("app_jwks_fetches", "A2 Saleor JWKS fetches per 1,000 webhooks (2 workers)", "", at_most(1)),
    Figure("app_token_requests", "A3 Optty token requests, 2 workers sharing Redis", "", at_most(1)),
    Figure("app_verify_signature", "A4 webhook signature check, warm JWKS, CPU per call", " ms", None),
    *(
        Figure(f"app_handler_{name}", f"A4   {event}, App CPU per call", " ms", None)
        for name, event in SYNC_WEBHOOKS.items()
    ),
    Figure("app_handler_transaction_process_pending", "A4   TRANSACTION_PROCESS_SESSION, pending (asks Optty)", " ms", None),
    *(
        Figure(f"app_over_saleor_{name}", f"A5 {mutation}: App CPU / Saleor CPU (Saleor lab)", "×", at_most(0.2, "×"))
        for name, mutation in MUTATIONS.items()
    ),
    Figure("app_duplicate_callback_overhead", "A6 callback finding its payment final / bare App view, CPU", "×", at_most(1.5, "×")),
    Figure("app_duplicate_callback_rate", "A6   callbacks finding their payment final, sustained", "/s", None),
    Figure("app_duplicate_callback_p50", "A6   latency p50", " ms", None),
    Figure("app_duplicate_callback_p99", "A6   latency p99", " ms", None),
    Figure("app_burst_charges", "A7 charges in Saleor after 32 concurrent duplicate callbacks", "", exactly(1)),
    *(
        Figure(f"app_hang_{name}", f"A8 {event} answered, Optty hanging", " s", below(SALEOR_SYNC_TIMEOUT, " s"))
        for name, event in SYNC_WEBHOOKS.items()
    ),
    Figure("app_checkout_over_legacy", "A9 Transactions-API checkout (App) / legacy (plugin), CPU", "×", None),
]

BY_KEY = {figure.key: figure for figure in FIGURES}
