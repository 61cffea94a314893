"""ioTORQ EMIS dialect: data import (API.md §1). Views parse, call a service or selector, render."""

from typing import ClassVar

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from apps.api.common.views import TenantViewSet
from apps.imports.models import ImportSource
from apps.imports.selectors import import_job_get
from apps.imports.services import import_accept

from . import render
from .authentication import TokenAuthentication
from .errors import exception_handler
from .openapi import (
    IMPORT_DESCRIPTION,
    IMPORT_ERRORS,
    JOB_DESCRIPTION,
    JOB_ERRORS,
    VENDOR_EXAMPLE,
    AcceptedSerializer,
    ImportItemSerializer,
    JobSerializer,
)
from .parsing import BODY_LIMIT, parse_import, read_body


class ImportViewSet(TenantViewSet):
    """`POST /ems/api/import/` (create) and `GET /ems/api/import/{job_id}/` (retrieve)."""

    authentication_classes: ClassVar = [TokenAuthentication]
    exception_handler = staticmethod(exception_handler)
    body_limit = BODY_LIMIT
    # A str, not a uuid: a malformed id gets the dialect's 404 from the selector, not Django's.
    lookup_url_kwarg = "job_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        tags=["ioTORQ EMIS"],
        summary="Import data points",
        description=IMPORT_DESCRIPTION,
        request=ImportItemSerializer(many=True),
        examples=[VENDOR_EXAMPLE],
        responses={
            202: OpenApiResponse(AcceptedSerializer, description="Accepted; `Location` names the job."),
            **IMPORT_ERRORS,
        },
    )
    def create(self, request):
        points = parse_import(read_body(request, limit=self.body_limit))
        job = import_accept(
            organization=self.organization,
            user=self.principal.user,
            token=self.principal.token,
            dialect=ImportSource.IOTORQ,
            points=points,
        )
        location = reverse("iotorq-import-detail", kwargs={"job_id": job.pk})
        return Response(render.accepted(job), status=202, headers={"Location": location})

    @extend_schema(
        tags=["ioTORQ EMIS"],
        summary="Import job status (project extension)",
        description=JOB_DESCRIPTION,
        responses={200: JobSerializer, **JOB_ERRORS},
    )
    def retrieve(self, request, job_id: str):
        return Response(render.job(import_job_get(organization=self.organization, job_id=job_id)))


class ImportAliasViewSet(ImportViewSet):
    """`/ems/api/import` without the slash, which Django would otherwise redirect (a POST
    cannot follow a redirect). Left out of the schema: one path per operation."""

    @extend_schema(exclude=True)
    def create(self, request):
        return super().create(request)
