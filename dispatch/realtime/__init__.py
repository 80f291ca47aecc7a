"""Realtime: the pub/sub hub, websocket connections, and who sees which frame."""
