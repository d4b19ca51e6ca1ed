"""What every page reached by a signed link (task, queue, unsubscribe, held mail, reply) answers with."""

HTML = "text/html; charset=utf-8"
# The token is in the URL: keep it out of caches, referrers and search engines.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
