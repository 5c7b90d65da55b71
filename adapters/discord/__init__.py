"""The Discord adapter: discord.py over a bot token (gateway + REST)."""
