"""Refusing a NUL in the query string of the project's pages (the admin and its tools).

The admin hands query parameters to the database unchecked: a changelist filter
(`?label__contains=%00`), a list filter's choice, an autocomplete `term`. PostgreSQL refuses a
statement holding a NUL (apps.core.text), so each of them was a 500 there and an empty answer on
SQLite. One check here covers every page, present and future, on both databases alike.
"""

from django.core.exceptions import BadRequest

from .text import holds_nul


class NulQueryStringMiddleware:
    """A query parameter (name or value) holding a NUL is a 400 (Django's bad-request page).

    The API dialects (Django REST framework views) are left alone: they answer in their own
    error shapes and check their parameters themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if hasattr(view_func, "cls"):  # a Django REST framework view (APIView.as_view sets it)
            return None
        if any(holds_nul(name) or holds_nul(values) for name, values in request.GET.lists()):
            raise BadRequest("A query parameter holds the NUL character (U+0000).")
        return None
