"""The EMS gateway's one error shape: `{"error": "<message>"}`."""

from rest_framework.response import Response

from apps.api.common.errors import problem_for


def exception_handler(exc, context):
    problem = problem_for(exc)
    if problem is None:
        return None
    return Response({"error": problem.message}, status=problem.status, headers=problem.headers)
