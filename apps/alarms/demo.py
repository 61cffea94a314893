"""Alarm rules for the demo organization of `seed_demo`, and one alarm open at once
(`manage.py seed_alarms_demo`, which `make run` calls after `seed_demo`).

A separate command rather than a step of `seed_demo`: the demo seed lives in inventory, below
alarms, and may not import them (docs/decisions.md).
"""

from django.db import transaction

from apps.core.exceptions import NotFound
from apps.tenancy.models import Membership, Organization, Site
from apps.timeseries.models import Series

from .evaluate import PassResult, alarms_evaluate
from .models import AlarmRule, Recipient

SITE_NAME = "Demo building"  # apps/inventory/demo_energy.py
VOLTAGE_SERIES = "Sub meter voltage"  # a measurement around 230 V (apps/inventory/demo.py)
PROFILE_METER_CODE = "main_energy_15min"


def alarms_demo_seed(*, slug: str = "demo") -> tuple[list[AlarmRule], PassResult]:
    """Create (or bring back) the demo rules of organization `slug`, make its staff members
    recipients of major alarms, and evaluate once: the voltage rule's limit lies below the demo
    voltage, so its alarm opens now."""
    with transaction.atomic():
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise NotFound(f"No organization {slug!r}: run seed_demo first.")
        site = Site.objects.filter(organization=organization, name=SITE_NAME).first()
        voltage = Series.objects.filter(organization=organization, name=VOLTAGE_SERIES).order_by("pk").first()
        profile = Series.objects.filter(organization=organization, meter_code=PROFILE_METER_CODE).first()
        if site is None or voltage is None or profile is None:
            raise NotFound(f"Organization {slug!r} is not the demo's: run seed_demo first.")
        rules = [
            _rule(
                organization,
                "Demo building silent",
                kind="no_data",
                scope="site",
                site=site,
                series_kind="measurement",  # the one-minute readings; the 15-minute profile lags
                delay_minutes=15,
                severity="critical",
            ),
            _rule(
                organization,
                "Sub meter voltage above 225 V",
                kind="threshold",
                scope="series",
                series=voltage,
                direction="above",
                limit=225,
                hysteresis=1,
                delay_minutes=0,
                severity="major",
            ),
            _rule(
                organization,
                "Energy use above 150 % of usual",
                kind="consumption",
                scope="kind",
                series_kind="counter",
                period="hour",
                percent=150,
                delay_minutes=15,
                severity="minor",
            ),
            _rule(
                organization,
                "Load profile gaps",
                kind="gaps",
                scope="series",
                series=profile,
                interval_minutes=15,
                delay_minutes=30,
                severity="warning",
            ),
        ]
        for membership in Membership.objects.filter(organization=organization, user__is_staff=True):
            Recipient.objects.get_or_create(
                organization=organization, user_id=membership.user_id, defaults={"min_severity": "major"}
            )
    return rules, alarms_evaluate()


def _rule(organization: Organization, name: str, **fields) -> AlarmRule:
    rule, _ = AlarmRule.objects.update_or_create(
        organization=organization, name=name, defaults={"enabled": True, "disabled_reason": "", **fields}
    )
    return rule
