"""The HTTP surface: alert webhooks, /healthz and /metrics on one aiohttp server."""
