"""The Lambda functions: `functions.<name>.handler.lambda_handler`, one package each.

A cold start imports this package before anything else of its handler. Importing a handler creates
about 100,000 objects that live as long as the process (modules, classes, pydantic validators), and
Python's cyclic garbage collector traverses all of them, again and again, while they are created:
measured, 20-35 ms of a cold start, with nothing to collect. In Lambda, collection therefore pauses
until the handler module has imported (`imported()`, its last line), and what it imported is frozen
out of later collections (`gc.freeze`: every later full collection, the first call's included, skips
it). Elsewhere (tests, the Sandbox, the CLI) nothing changes.

A handler decorated with `uncollected_first_call` keeps collection paused through its first call too,
and freezes what that call built (boto3 clients, their models and caches, validators).
"""

import gc
import os

# Lambda sets it in every function's environment.
IN_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ

if IN_LAMBDA:
    gc.disable()

# After the pause: what these import is paused too.
from collections.abc import Callable  # noqa: E402
from functools import wraps  # noqa: E402
from typing import ParamSpec, TypeVar  # noqa: E402


def imported() -> None:
    """A handler module's imports are done: freeze them and collect again (Lambda only)."""
    if IN_LAMBDA:
        gc.freeze()
        gc.enable()


Parameters = ParamSpec("Parameters")
Result = TypeVar("Result")


def uncollected_first_call(handler: Callable[Parameters, Result]) -> Callable[Parameters, Result]:
    """Run the handler's first call with collection paused, then freeze what it built (Lambda only).

    A first call builds what lives as long as the process (clients, their service models, validators
    built on first use). Measured on the intake's first call: ~70 collections, seven of them of the
    middle generation, freed ~50 objects and took ~7 ms of its ~75 ms of CPU. Later calls collect as
    usual; the few cycles a first call leaves are frozen with the rest, as the import's are.
    """
    if not IN_LAMBDA:
        return handler
    called = False

    @wraps(handler)
    def call(*args: Parameters.args, **kwargs: Parameters.kwargs) -> Result:
        nonlocal called
        if called:
            return handler(*args, **kwargs)
        called = True
        gc.disable()
        try:
            return handler(*args, **kwargs)
        finally:
            gc.freeze()
            gc.enable()

    return call
