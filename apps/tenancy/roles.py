"""The roles the product ships, as data: name, purpose and the Django permissions they carry.

`roles_sync` (services.py) writes them; a data migration runs it on every installation, and it is
safe to run again after the list changes.
"""

MANAGE = ("add", "change", "delete", "view")


def _model_perms(app_label: str, models: tuple[str, ...], actions: tuple[str, ...] = MANAGE) -> list[str]:
    return [f"{app_label}.{action}_{model}" for model in models for action in actions]


SHIPPED_ROLES: dict[str, tuple[str, str, list[str]]] = {
    "facility-manager": (
        "Facility manager",
        "Sites, devices, loads, signals, datastreams, partitions, points and series; charts and CSV "
        "import; alarm rules, alarms and their notifications; the organization's name, time zone, "
        "gateway identity, sample retention and realtime staleness (not its quotas). "
        "No credentials.",
        _model_perms("inventory", ("product", "device", "load", "signal", "datastream", "partition", "point"))
        + _model_perms("timeseries", ("series",))
        + _model_perms("tenancy", ("site",))
        # Their own organization's page: its quotas stay read-only but for superusers (admin.py).
        + _model_perms("tenancy", ("organization",), ("view", "change"))
        # Import jobs: follow them, and retry a failed one (the admin's Retry action changes it).
        + _model_perms("imports", ("importjob",), ("view", "change"))
        # The device page's (read-only) Blynk import quota use.
        + ["inventory.view_deviceimportday"]
        # Alarm rules, who is told and where; alarms are seen and acknowledged (a change).
        + _model_perms("alarms", ("alarmrule", "recipient", "webhook"))
        + _model_perms("alarms", ("alarm",), ("view", "change"))
        + _model_perms("alarms", ("delivery",), ("view",)),
    ),
    "token-administrator": (
        "Token administrator",
        "Issues and revokes API tokens and OAuth clients, and grants roles to members.",
        _model_perms("access", ("apitoken", "oauthclient"))
        + _model_perms("access", ("refreshtoken",), ("view", "delete"))
        + _model_perms("tenancy", ("membership",))
        + ["tenancy.view_role"],
    ),
    "api": ("API", "May log in to the EMS gateway API and read through it.", ["tenancy.EMS_API"]),
    "blynk-device-owner": (
        "Blynk device owner",
        "Blynk user tokens: see the devices the user owns.",
        ["tenancy.OWN_DEVICES_VIEW"],
    ),
    "blynk-viewer": (
        "Blynk viewer",
        "Blynk user tokens: see every device of the organization.",
        ["tenancy.ORG_DEVICES_VIEW"],
    ),
    "blynk-operator": (
        "Blynk operator",
        "Blynk user tokens: see every device, write values and properties, import history.",
        ["tenancy.ORG_DEVICES_VIEW", "tenancy.ORG_DEVICES_CONTROL", "tenancy.ORG_DEVICE_DATA_IMPORT"],
    ),
}
