"""The Lambda functions: `functions.<name>.handler.lambda_handler`, one package each.

A cold start imports this package before anything else of its handler. Importing a handler creates
about 100,000 objects that live as long as the process (modules, classes, pydantic validators), and
Python's cyclic garbage collector traverses all of them, again and again, while they are created:
measured, 20-35 ms of a cold start, with nothing to collect. In Lambda, collection therefore pauses
until the handler module has imported (`imported()`, its last line), and what it imported is frozen
out of later collections (`gc.freeze`: every later full collection, the first call's included, skips
it). Elsewhere (tests, the Sandbox, the CLI) nothing changes.
"""

import gc
import os

# Lambda sets it in every function's environment.
IN_LAMBDA = "AWS_LAMBDA_FUNCTION_NAME" in os.environ

if IN_LAMBDA:
    gc.disable()


def imported() -> None:
    """A handler module's imports are done: freeze them and collect again (Lambda only)."""
    if IN_LAMBDA:
        gc.freeze()
        gc.enable()
