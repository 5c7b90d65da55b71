"""The console platform: an in-process chat workspace.

It is the local REPL (`warroom console`), the demo, and the tests' fake platform.
"""

from adapters.console.port import ConsolePort
from adapters.console.session import ConsoleSession
from adapters.console.workspace import Workspace

__all__ = ["ConsolePort", "ConsoleSession", "Workspace"]
