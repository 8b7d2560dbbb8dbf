"""Saleor's side of the App's contract, as Saleor speaks it over HTTP: what it sends
(subscriptions and their payloads), how it signs, and what it accepts back."""
