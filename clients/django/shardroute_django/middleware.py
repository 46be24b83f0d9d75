"""Read-your-writes per request: add
"shardroute_django.middleware.ReadYourWritesMiddleware" to MIDDLEWARE."""
from .writes import request_scope


class ReadYourWritesMiddleware:
    """Reads of a request see that request's writes; the next request starts afresh."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_scope():
            return self.get_response(request)
