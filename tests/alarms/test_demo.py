import pytest
from django.core.management import CommandError, call_command

from apps.alarms.models import Alarm, AlarmRule, Recipient


@pytest.mark.django_db
def test_seed_alarms_demo_creates_the_rules_and_one_open_alarm_and_can_run_again(demo, capsys):
    call_command("seed_alarms_demo")
    call_command("seed_alarms_demo")
    assert AlarmRule.objects.filter(organization__slug="demo").count() == 4
    print(list(Alarm.objects.values_list("rule__name", "series__name", "message")))
    [alarm] = Alarm.objects.filter(cleared_at__isnull=True)
    assert (alarm.rule.name, alarm.series.name) == ("Sub meter voltage above 225 V", "Sub meter voltage")
    assert Recipient.objects.filter(organization__slug="demo").exists()
    assert "4 alarm rules for 'demo'; 1 alarm(s) open" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_alarms_demo_needs_the_demo_organization():
    with pytest.raises(CommandError, match="run seed_demo first"):
        call_command("seed_alarms_demo", "--org", "nowhere")
