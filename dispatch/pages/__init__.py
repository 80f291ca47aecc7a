"""The phone pages: the officer's (/officer) and the crew's (/crew), served by this server."""
