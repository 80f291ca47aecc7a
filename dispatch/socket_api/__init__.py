"""The websocket API: the endpoint, the message handlers, and bringing a client up to date."""
