"""`{% ems_dashboard as dashboard %}`: the admin index's figures for the requesting user
(apps.console.dashboard.py). A tag, so the stock AdminSite's index view needs no override."""

from django import template
from django.urls import NoReverseMatch, reverse

from apps.console.dashboard import dashboard_organizations, dashboard_summary

register = template.Library()


@register.simple_tag(takes_context=True)
def ems_dashboard(context):
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    return dashboard_summary(organizations=dashboard_organizations(user=request.user))


@register.simple_tag
def admin_changelist_url(app_label: str, model_name: str) -> str:
    """The admin changelist of a model, or "" when it has none (an app not installed yet)."""
    try:
        return reverse(f"admin:{app_label}_{model_name}_changelist")
    except NoReverseMatch:
        return ""
