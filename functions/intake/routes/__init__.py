"""The intake API's routes, one `Router` per concern, included by functions/intake/handler.py.

Add a module with `router = Router()` and its routes, then map the first segment of its paths
to it in the handler's ROUTE_MODULES (routers are included per request path, lazily).
"""
