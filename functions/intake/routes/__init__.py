"""The intake API's routes, one `Router` per concern, included by functions/intake/handler.py.

Add a module with `router = Router()` and its routes, then one `app.include_router(...)` line in the handler.
"""
