"""The wire contract: every websocket message and API body, and stable error codes.

No database, no FastAPI: outside clients can depend on this package alone.
"""
