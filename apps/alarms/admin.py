"""Admin for alarms: the rules, the alarm list (filters, bulk acknowledge with a comment), who is
told and where, and the log of what was sent. Every page is scoped to the user's organizations
(apps/tenancy/admin_scoping.py). Alarms are made by the evaluation, never by hand."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.core.exceptions import EmsError
from apps.tenancy.admin_scoping import OrganizationOwnedAdmin, OrganizationOwnedForm, OrganizationScopedAdmin
from apps.tenancy.models import Site

from .models import Alarm, AlarmRule, Delivery, DeliveryAttempt, Recipient, Webhook
from .services import alarm_rule_check, alarms_acknowledge
from .webhook_url import webhook_target


class AlarmRuleForm(OrganizationOwnedForm):
    class Meta:
        model = AlarmRule
        fields = "__all__"

    def clean(self):
        cleaned_data = super().clean()
        rule = self.instance
        for name, value in cleaned_data.items():
            setattr(rule, name, value)
        if rule.organization_id is None:
            return cleaned_data
        try:
            alarm_rule_check(rule)
        except EmsError as exc:
            if exc.field and exc.field in self.fields:
                self.add_error(exc.field, exc.message)
            else:
                raise ValidationError(exc.message) from exc
        return cleaned_data


@admin.register(AlarmRule)
class AlarmRuleAdmin(OrganizationOwnedAdmin):
    form = AlarmRuleForm
    list_display = ("name", "kind", "severity", "scope_label", "delay_minutes", "enabled", "alarms_link")
    list_select_related = ("organization", "series", "site")
    list_filter = ("kind", "severity", "enabled", "scope")
    search_fields = ("name", "series__name", "series__meter_code", "site__name")
    raw_id_fields = ("series",)
    readonly_fields = ("id", "disabled_reason", "next_due_at", "created_at")
    fieldsets = (
        (None, {"fields": ("id", "organization", "name", "kind", "severity", "enabled", "disabled_reason")}),
        ("What it watches", {"fields": ("scope", "series", "site", "series_kind")}),
        (
            "Condition",
            {
                "fields": (
                    "delay_minutes",
                    ("direction", "limit", "hysteresis"),
                    ("period", "percent"),
                    "interval_minutes",
                    "next_due_at",
                ),
                "description": "Delay: no data for that long; beyond the limit for that long; that long "
                "after the period (hour, day) ends before it is judged.",
            },
        ),
        (None, {"fields": ("created_at",)}),
    )

    def save_model(self, request, obj, form, change):
        obj.scope_checked = False  # the next pass looks at every series of the (new) scope
        super().save_model(request, obj, form, change)

    @admin.display(description="alarms")
    def alarms_link(self, rule):
        url = reverse("admin:alarms_alarm_changelist")
        return format_html('<a href="{}?rule={}">alarms</a>', url, rule.pk)

    @admin.display(description="watches")
    def scope_label(self, rule):
        if rule.scope == "series":
            return rule.series or "(deleted series)"
        if rule.scope == "site":
            return f"{rule.site or '(deleted site)'}" + (f" ({rule.series_kind})" if rule.series_kind else "")
        return f"all {rule.series_kind} series"


class _TimestampSetFilter(admin.SimpleListFilter):
    """Two options on whether the timestamp `field` is set: `options` maps each parameter value
    to its label and whether the timestamp is null then (not `choices`: a method of the base)."""

    field: str
    options: dict[str, tuple[str, bool]]

    def lookups(self, request, model_admin):
        return tuple((value, label) for value, (label, _) in self.options.items())

    def queryset(self, request, queryset):
        if self.value() in self.options:
            return queryset.filter(**{f"{self.field}__isnull": self.options[self.value()][1]})
        return queryset


class StateFilter(_TimestampSetFilter):
    title = parameter_name = "state"
    field = "cleared_at"
    options = {"active": ("Active", True), "cleared": ("Cleared", False)}


class AcknowledgedFilter(_TimestampSetFilter):
    title = parameter_name = "acknowledged"
    field = "acknowledged_at"
    options = {"yes": ("Acknowledged", False), "no": ("Not acknowledged", True)}


class SiteFilter(admin.SimpleListFilter):
    """The alarms of a site's series, among the sites of the user's organizations."""

    title = "site"
    parameter_name = "site"

    def lookups(self, request, model_admin):
        organization_ids = model_admin.scope_organization_ids(request, "view", "change")
        sites = Site.objects.order_by("name")
        if organization_ids is not None:
            sites = sites.filter(organization__in=organization_ids)
        return [(str(pk), name) for pk, name in sites.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(series__site_id=self.value())
        return queryset


class SeriesFilter(admin.SimpleListFilter):
    """A series' alarms: `?series=<id>` (a link from anywhere); no list of every series, which
    would be thousands of choices. Shown only while filtering."""

    title = "series"
    parameter_name = "series"

    def lookups(self, request, model_admin):
        value = self.value()
        if not value or not value.isdigit():
            return ()
        shown = model_admin.get_queryset(request).filter(series_id=value).select_related("series").first()
        return ((value, str(shown.series) if shown else f"series {value}"),)

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            return queryset.filter(series_id=value) if value.isdigit() else queryset.none()
        return queryset


class RuleFilter(admin.SimpleListFilter):
    """The rules that have active alarms (and the one chosen): an organization may hold a
    thousand rules, too many to list, and a rule's page links here with `?rule=<id>`."""

    title = "rule"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        organization_ids = model_admin.scope_organization_ids(request, "view", "change")
        rules = AlarmRule.objects.all()
        if organization_ids is not None:
            rules = rules.filter(organization__in=organization_ids)
        shown = Q(pk__in=Alarm.objects.filter(cleared_at__isnull=True).values("rule_id"))
        if self.value() and self.value().isdigit():
            shown |= Q(pk=int(self.value()))
        return [
            (str(pk), name)
            for pk, name in rules.filter(shown).order_by("name").values_list("pk", "name")[:200]
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            return queryset.filter(rule_id=value) if value.isdigit() else queryset.none()
        return queryset


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False, max_length=2000
    )


@admin.register(Alarm)
class AlarmAdmin(OrganizationScopedAdmin):
    list_display = (
        "started_at",
        "severity_label",
        "state",
        "rule",
        "series_alarms",
        "value",
        "duration",
        "acknowledged",
        "message",
    )
    list_display_links = ("started_at",)
    list_select_related = ("rule", "series", "acknowledged_by")
    list_filter = ("severity", StateFilter, AcknowledgedFilter, SiteFilter, RuleFilter, SeriesFilter)
    search_fields = ("rule__name", "series__name", "series__meter_code", "message")
    show_full_result_count = False
    list_per_page = 100
    actions = ("acknowledge",)
    readonly_fields = (
        "id",
        "organization",
        "rule",
        "series",
        "severity",
        "started_at",
        "updated_at",
        "cleared_at",
        "duration",
        "value",
        "message",
        "acknowledged_at",
        "acknowledged_by",
        "acknowledge_comment",
    )
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # history: deleted by its retention only

    @admin.display(description="severity", ordering="severity")
    def severity_label(self, alarm):
        colours = {"critical": "#ba2121", "major": "#e67e22", "minor": "#b8a000", "warning": "#417690"}
        return format_html(
            '<b style="color:{}">{}</b>', colours.get(alarm.severity, "inherit"), alarm.severity
        )

    @admin.display(description="series", ordering="series__name")
    def series_alarms(self, alarm):
        """The series, linking to its alarms (the list filtered by it)."""
        return format_html('<a href="?series={}">{}</a>', alarm.series_id, alarm.series)

    @admin.display(description="state", ordering="cleared_at")
    def state(self, alarm):
        return "active" if alarm.cleared_at is None else "cleared"

    @admin.display(description="duration")
    def duration(self, alarm):
        end = alarm.cleared_at or timezone.now()
        minutes = int((end - alarm.started_at).total_seconds() // 60)
        return (
            f"{minutes // 1440}d {minutes % 1440 // 60}h {minutes % 60}m"
            if minutes >= 1440
            else (f"{minutes // 60}h {minutes % 60}m")
        )

    @admin.display(description="acknowledged", ordering=F("acknowledged_at").desc(nulls_last=True))
    def acknowledged(self, alarm):
        if alarm.acknowledged_at is None:
            return "—"
        return f"{alarm.acknowledged_by or '?'}, {alarm.acknowledged_at:%Y-%m-%d %H:%M}"

    @admin.action(description="Acknowledge the selected alarms (with a comment)", permissions=["change"])
    def acknowledge(self, request, queryset):
        form = AcknowledgeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            count = alarms_acknowledge(
                alarms=queryset, user=request.user, comment=form.cleaned_data["comment"]
            )
            self.message_user(request, f"Acknowledged {count} alarm(s).", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/alarms/acknowledge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Acknowledge alarms",
                "form": form,
                "alarms": queryset.select_related("rule", "series")[:200],
                "count": queryset.count(),
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "query": request.GET.urlencode(),
            },
        )


@admin.register(Recipient)
class RecipientAdmin(OrganizationOwnedAdmin):
    list_display = ("user", "min_severity", "organization")
    list_select_related = ("user", "organization")
    list_filter = ("min_severity",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)


class WebhookForm(OrganizationOwnedForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = Webhook
        fields = "__all__"
        widgets = {"secret": forms.PasswordInput(render_value=False)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # Never sent back to the page; left empty it stays as it is.
            self.fields["secret"].required = False
            self.fields["secret"].help_text = "Leave empty to keep the current secret."

    def clean_secret(self):
        return self.cleaned_data["secret"] or self.instance.secret

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhook_target(url)
        except EmsError as exc:
            raise ValidationError(exc.message) from exc
        return url


@admin.register(Webhook)
class WebhookAdmin(OrganizationOwnedAdmin):
    form = WebhookForm
    list_display = ("name", "url", "min_severity", "enabled", "organization")
    list_select_related = ("organization",)
    list_filter = ("enabled", "min_severity")
    search_fields = ("name", "url")
    readonly_fields = ("id", "created_at")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "ok", "status_code", "error", "duration_ms")

    def has_add_permission(self, request, obj):
        return False


@admin.register(Delivery)
class DeliveryAdmin(OrganizationScopedAdmin):
    list_display = ("created_at", "channel", "webhook", "status", "attempts", "subject", "sent_at")
    list_select_related = ("webhook",)
    list_filter = ("channel", "status")
    show_full_result_count = False
    inlines = (DeliveryAttemptInline,)
    fields = readonly_fields = (
        "id",
        "organization",
        "channel",
        "webhook",
        "recipients",
        "subject",
        "payload",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    )

    def has_add_permission(self, request):
        return False
