"""The Slack platform: translate (payload -> event), render (RichMessage -> Block Kit),
port (the ChatPort over AsyncWebClient), app (Bolt listeners), server (Socket Mode / HTTP)."""
