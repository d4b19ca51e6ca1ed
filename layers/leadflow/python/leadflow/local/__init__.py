"""The local runtime (moto): the Sandbox, its simulated clock, the demo, preview and `leadflow serve`.

May import everything; only the CLI, the benchmarks and the tests import it.
`from leadflow.local import Sandbox` loads moto on first use, not when preview or serve is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadflow.local.sandbox import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from leadflow.local.sandbox import Sandbox

        return Sandbox
    raise AttributeError(name)
