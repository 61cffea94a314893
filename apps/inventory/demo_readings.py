"""The demo's readings: every demo series' value as a function of time (a daily wave, or the
running integral of one for an energy register), and the day of one-minute samples `seed_demo`
writes through the store. Kept apart from demo.py, which builds the objects the vendors' examples
use: these are the numbers on them, and re-runs write the same ones.
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.core.time import datetime_to_ms
from apps.timeseries.models import Series, ms_to_datetime
from apps.timeseries.store import Policy, SampleBatch, write

from .models import Device

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MINUTES = 24 * 60
# Energy counters count from here, so their reading depends only on the time (re-runs agree).
COUNTER_EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z


@dataclass(frozen=True)
class Wave:
    """A plausible reading: a daily sine around `mean`, plus a small minute-scale ripple.

    With `counter` set the value is instead the running integral (in hours) of that curve since
    COUNTER_EPOCH_MS: an energy counter that only ever increases. Every value is a function of the
    timestamp alone, so overlapping re-runs write identical samples.
    """

    mean: float
    amplitude: float
    ripple: float = 0.0
    phase_hours: float = 0.0
    counter: bool = False
    decimals: int = 2

    def value(self, ts: int) -> float:
        hours = (ts - COUNTER_EPOCH_MS) / HOUR_MS
        angle = 2 * math.pi * (hours - self.phase_hours) / 24
        if self.counter:
            start = 2 * math.pi * -self.phase_hours / 24
            integral = self.mean * hours + self.amplitude * 24 / (2 * math.pi) * (
                math.cos(start) - math.cos(angle)
            )
            return round(integral, self.decimals)
        ripple = self.ripple * math.sin(ts / MINUTE_MS * 0.7)
        return round(self.mean + self.amplitude * math.sin(angle) + ripple, self.decimals)


# Signals of load 2 (device 1). The vendor publishes no table of `si` codes beyond 29 (voltage)
# and 30 (current) in its examples; 31-33 are this demo's choice.
MAIN_SIGNALS = (
    # uid, si, unit, series name, meter code, wave
    (
        3,
        31,
        "kW",
        "Main active power",
        "my_meter_code1",
        Wave(mean=10.5, amplitude=3.0, ripple=0.4, phase_hours=8),
    ),
    (4, 32, "var", "Main reactive power", "my_meter_code2", Wave(mean=-93.4, amplitude=4.0, ripple=1.0)),
    (5, 33, "kWh", "Main active energy", None, Wave(mean=10.5, amplitude=3.0, phase_hours=8, counter=True)),
)
# Signals of load 83 (device 82), as in the vendor's examples.
SUB_SIGNALS = (
    (100, 29, "V", "Sub meter voltage", None, Wave(mean=230.4, amplitude=1.5, ripple=0.3, phase_hours=2)),
    (101, 30, "A", "Sub meter current", None, Wave(mean=2.5, amplitude=0.6, ripple=0.05, decimals=3)),
)
# Device 1's datastreams: the meter room's temperature and humidity (DATASTREAMS order).
METER_ROOM_SERIES = (
    (1, "Meter room temperature", "°C", Wave(mean=24.0, amplitude=2.0, ripple=0.1, phase_hours=10)),
    (2, "Meter room humidity", "%", Wave(mean=50.0, amplitude=5.0, ripple=0.4, phase_hours=22)),
)
# Device 101's own datastream series.
SENSOR_SERIES = (
    (1, "Room sensor temperature", "°C", Wave(mean=21.0, amplitude=1.5, ripple=0.1, phase_hours=9)),
    (2, "Room sensor humidity", "%", Wave(mean=45.0, amplitude=6.0, ripple=0.5, phase_hours=21)),
)
# The Building X point's series: an air handler's supply air temperature (the vendor's
# quick-start writes values such as "12.66").
POINT_NAME = "Supply air temperature"
POINT_SERIES = (
    "AHU supply air temperature",
    "°C",
    Wave(mean=14.0, amplitude=2.0, ripple=0.2, phase_hours=15),
)


def demo_readings_write(series: dict[Any, Series], *, devices: dict[int, Device], now: datetime) -> int:
    """A day of one-minute samples on every demo series, ending at the last whole minute, in one
    store batch; the numeric datastreams' current values are set to their newest sample. Returns
    that last minute (epoch ms)."""
    last = datetime_to_ms(now) // MINUTE_MS * MINUTE_MS
    timestamps = [last - (DAY_MINUTES - 1 - i) * MINUTE_MS for i in range(DAY_MINUTES)]
    waves = {uid: wave for uid, _si, _unit, _name, _code, wave in MAIN_SIGNALS + SUB_SIGNALS}
    waves |= {("meter", stream_id): wave for stream_id, _name, _unit, wave in METER_ROOM_SERIES}
    waves |= {("sensor", stream_id): wave for stream_id, _name, _unit, wave in SENSOR_SERIES}
    waves["point"] = POINT_SERIES[2]
    series_ids: list[int] = []
    ts: list[int] = []
    values: list[float] = []
    for key, wave in waves.items():
        series_ids += [series[key].pk] * len(timestamps)
        ts += timestamps
        values += [wave.value(t) for t in timestamps]
    write(SampleBatch(series_ids=series_ids, ts=ts, values=values), Policy.OVERWRITE)

    latest_at = ms_to_datetime(last)
    for device in devices.values():
        for stream in device.datastreams.select_related("series"):
            stream.series.refresh_from_db(fields=["last_ts", "last_value"])
            stream.value = stream.series.last_value
            stream.value_updated_at = ms_to_datetime(stream.series.last_ts) or latest_at
            stream.save(update_fields=["value", "value_updated_at"])
    return last
