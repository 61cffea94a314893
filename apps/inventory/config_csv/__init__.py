"""Bulk configuration: devices, loads and signals created or updated from one table, in one step.

A site has hundreds of signals; this is how they get in. The table has one row per signal,
carrying its load and its device (devices and loads repeat on the rows of their signals)::

    device_uid,device_label,device_protocol,load_uid,load_label,signal_uid,signal_si,signal_unit,series_meter_code
    1,Main meter,meterBus,2,Main,3,31,kW,main_power
    1,Main meter,meterBus,2,Main,4,32,var,main_reactive
    82,Sub meter,rtu,83,Sub,100,29,V,

Columns (header names, any order, case-insensitive; only the three uids are required):

- device: `device_uid`, `device_label`, `device_part_number`, `device_system`, `device_protocol`
  (a protocol's value or label: rtu, tcp, meterBus, virtual, P1), `device_site` (the name of one
  of the organization's sites)
- load: `load_uid`, `load_label`, `load_index`, `load_type`, `load_enable`
- signal: `signal_uid`, `signal_si`, `signal_sir`, `signal_unit`, `signal_enable`
- the signal's series: `series_meter_code`, `series_name`, `series_kind` (measurement, counter,
  interval), `series_unit` (free text; a new series defaults to the signal's unit),
  `series_interval_end`

Objects are found by uid in the organization (uids are unique there). A blank cell keeps the
current value of an existing object and gives a new one its default (a label "Device 7",
"Load 8"; enabled; index 1; type 0); `signal_si` is required for a new signal. A load or signal
listed under another device or load than its current one is moved there. Every new signal, and
every existing one without a series, gets a new Series (named by `series_name`, else after its
device, load and uid; coded by `series_meter_code`; in the signal's unit unless `series_unit`
says otherwise; at its device's site). Booleans are
true/false, yes/no, 1/0 or on/off.

Rows must agree: a device or load listed on several rows must have the same values wherever a
cell is filled, a signal is listed once, a meter code names one series. Everything is validated
before anything is written, errors name their line and column, and the whole table is applied
in one transaction or not at all.

A table holds at most MAX_ROWS rows in a file of at most MAX_BYTES: the sizes whose preview and
apply were measured to stay within a request's time and a few hundred MB (docs/performance.md).
The file is read as a stream (apps/core/uploads/reader.py), never whole; what is kept of it is
one small entry per device, load and signal (table.py), and the organization's objects are
compared and written a chunk at a time (resolve.py).
"""

from .resolve import config_apply, config_plan
from .table import MAX_BYTES, MAX_ROWS, SHOWN, Change, ConfigPlan, ConfigRejected

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "SHOWN",
    "Change",
    "ConfigPlan",
    "ConfigRejected",
    "config_apply",
    "config_plan",
]
