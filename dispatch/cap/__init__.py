"""Alerts as OASIS CAP 1.2 messages: `message` builds them (pure), `webhook` posts them."""
