"""`manage.py seed_demo`: the demo organization and fresh credentials for every dialect."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core.exceptions import EmsError
from apps.inventory.demo import DEFAULT_SLUG, demo_seed


class Command(BaseCommand):
    help = (
        "Create (or reuse) a demo organization with the objects the vendors' examples use, a day of "
        "one-minute samples, and print fresh credentials for the admin site and every API dialect. "
        "Safe to run again: nothing is duplicated, credentials are re-issued."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--org", default=DEFAULT_SLUG, metavar="SLUG", help="organization slug (default: demo)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
        parser.add_argument("--force", action="store_true", help="run even when DJANGO_ENV=production")

    def handle(self, *args, org: str, json: bool, force: bool, **options):
        if settings.PRODUCTION and not force:
            raise CommandError(
                "Refusing to seed demo data and demo credentials in production (DJANGO_ENV=production). "
                "Pass --force to do it anyway."
            )
        try:
            result = demo_seed(slug=org)
        except EmsError as exc:
            raise CommandError(f"seed_demo: {exc.message}") from exc
        self.stdout.write(_as_json(result) if json else _as_text(result))


def _as_json(result: dict) -> str:
    return json.dumps(result, ensure_ascii=False)


def _as_text(result: dict) -> str:
    org, admin, iotorq = result["organization"], result["admin"], result["iotorq"]
    blynk, buildingx, ems = result["blynk"], result["buildingx"], result["ems"]
    variables = ", ".join(
        f"{code} (id {pk})" for code, pk in zip(iotorq["meter_codes"], iotorq["variable_ids"], strict=True)
    )
    user = blynk["user"]
    lines = [
        f'Demo organization "{org["name"]}" (slug {org["slug"]}) is ready.',
        "Tokens, client secrets and random passwords below were issued now; "
        "those of earlier runs no longer work.",
        "",
        "Admin site  /admin/  (staff: Facility manager, Token administrator, API)",
        f"  username       {admin['username']}",
        f"  password       {admin['password']}",
        "EMS gateway API  POST /v1/auth/login  (API role)",
        f"  username       {ems['username']}",
        f"  password       {ems['password']}",
        "ioTORQ import  POST /ems/api/import/  (Authorization: Token <token>)",
        f"  token          {iotorq['token']}",
        f"  variables      {variables}",
        "Blynk  POST /oauth2/token",
        f"  client id      {blynk['client_id']}",
        f"  client secret  {blynk['client_secret']}",
        f"  devices        {', '.join(map(str, blynk['device_ids']))}"
        f" (datastreams {', '.join(map(str, blynk['datastream_ids']))})",
        f"  user           {user['username']}",
        f"  user password  {user['password']}"
        f"  (owns device {', '.join(map(str, user['owns']))}; {', '.join(user['permissions'])})",
        "Building X  POST /oauth/token",
        f"  client id      {buildingx['client_id']}",
        f"  client secret  {buildingx['client_secret']}",
        f"  partition      {buildingx['partition_id']}",
        f"  point          {buildingx['point_id']}",
    ]
    return "\n".join(lines)
