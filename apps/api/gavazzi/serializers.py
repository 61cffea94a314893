"""The EMS gateway's one validating serializer: the login body (POST /v1/auth/login). The other
shapes of the dialect are documentation only (openapi.py)."""

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers


class CredentialField(serializers.CharField):
    """A credential: a NUL in it is not refused as a malformed request (400) but left to the
    login, where it names nobody, so it is answered, and counted, as a wrong credential (401)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class LoginSerializer(serializers.Serializer):
    username = CredentialField(max_length=150)
    password = CredentialField(max_length=1024, trim_whitespace=False)
