"""The largest bodies the write endpoints allow, in their worst-case shapes (bench/write_limits.py).

Each shape is a function of one size parameter `n` (items, labels, characters of padding...); the
body is the largest `n` whose encoding still fits the endpoint's limit, found by bisection. The
constants name what bench/write_limits.py creates in the benchmark organization.
"""

from collections.abc import Callable
from dataclasses import dataclass

import orjson

DEVICES = 1_000  # Blynk devices 1..DEVICES, all in one product
STREAMS = 100  # numeric datastreams 0..STREAMS-1 per device, labelled L0..L99
STRING_STREAM = 1_000  # a string datastream of device 1
VARIABLES = 40_000  # ioTORQ series with meter codes w00000...
T0_S = 1_600_000_000


@dataclass(frozen=True)
class Shape:
    """One endpoint in one shape: `build(n)` encodes the body; `points` says how many samples it
    writes (for the COPY reference); `status` is the answer it must get."""

    dialect: str
    name: str
    path: str
    build: Callable[[int], bytes]
    status: int
    points: Callable[[int], int] = lambda n: 0
    high: int | None = None  # the largest meaningful n, when the objects bound it


def largest(build: Callable[[int], bytes], limit: int, high: int | None) -> tuple[int, bytes]:
    """The largest n (at most `high`) whose body fits in `limit` bytes (bodies grow with n): n
    doubles until the body outgrows the limit, then the last step is bisected."""
    low, step = 1, 1
    while high is None or step < high:
        step = step * 2 if high is None else min(step * 2, high)
        if len(build(step)) > limit:
            high = step
            break
        low = step
    else:
        return high, build(high)
    while high - low > 1:
        middle = (low + high) // 2
        if len(build(middle)) <= limit:
            low = middle
        else:
            high = middle
    return low, build(low)


def _code(i: int) -> str:
    return f"w{i:05d}"


def iotorq_shapes(now_ms: int) -> list[Shape]:
    def one_variable(n: int) -> bytes:
        series = {"datetime": list(range(T0_S, T0_S + n)), "val": [float(i % 997) + 0.25 for i in range(n)]}
        return orjson.dumps([{"id_type": "meter_code", "id_value": _code(0), "series": series}])

    def variables(codes: Callable[[int], str]) -> Callable[[int], bytes]:
        def build(n: int) -> bytes:
            return orjson.dumps(
                [
                    {
                        "id_type": "meter_code",
                        "id_value": codes(i),
                        "series": {"datetime": [T0_S], "val": [1.5]},
                    }
                    for i in range(n)
                ]
            )

        return build

    def not_numbers(n: int) -> bytes:
        series = {"datetime": list(range(T0_S, T0_S + n)), "val": ["x"] * n}
        return orjson.dumps([{"id_type": "meter_code", "id_value": _code(0), "series": series}])

    path = "/ems/api/import/"
    return [
        Shape("ioTORQ", "import, one variable, every point", path, one_variable, 202, lambda n: n),
        Shape(
            "ioTORQ",
            "import, a variable per point",
            path,
            variables(_code),
            202,
            lambda n: n,
            high=VARIABLES,
        ),
        Shape("ioTORQ", "import, every variable unknown (400)", path, variables(lambda i: f"none{i}"), 400),
        Shape("ioTORQ", "import, every value a string (400)", path, not_numbers, 400),
    ]


def blynk_shapes(now_ms: int) -> list[Shape]:
    def labels(n: int) -> bytes:
        # The case: one row, as many labels as fit (the first 100 name datastreams).
        return orjson.dumps(
            {"fields": ["deviceId", *(f"L{i}" for i in range(n))], "updates": [[1] + [1.5] * n]}
        )

    def rows(devices: int) -> Callable[[int], bytes]:
        def build(n: int) -> bytes:
            # 10,000 rows over `devices` devices, `n` labels each, every cell naming a datastream.
            fields = ["deviceId", *(f"L{i}" for i in range(n))]
            updates = [[1 + r % devices] + [1.5] * n for r in range(10_000)]
            return orjson.dumps({"fields": fields, "updates": updates})

        return build

    def skipped(n: int) -> bytes:
        bad = [["x" * n, 1.5] for _ in range(9_999)]
        return orjson.dumps({"fields": ["deviceId", "L0"], "updates": [[1, 1.5], *bad], "debug": True})

    def values(n: int) -> bytes:
        return orjson.dumps({"deviceId": 1, "values": {str(i): 1.5 for i in range(n)}})

    def string_value(n: int) -> bytes:
        return orjson.dumps({"deviceId": 1, "dataStreamId": STRING_STREAM, "value": "x" * n})

    def history(n: int) -> bytes:
        stamps = range(now_ms - 10_000_000, now_ms)
        return orjson.dumps(
            {
                "deviceId": 1,
                "dataStreamId": 0,
                "values": [{"value": 1.5, "ts": str(ts), "note": "x" * n} for ts in stamps[::1_000]],
            }
        )

    def too_many(n: int) -> bytes:
        return orjson.dumps({"deviceId": 1, "dataStreamId": 0, "values": [{"value": 1, "ts": now_ms}] * n})

    def widget(n: int) -> bytes:
        body = {"deviceId": 1, "dataStreamId": 0, "property": "units", "value": "x" * 200, "note": "y" * n}
        return orjson.dumps(body)

    batch = "/api/v1/organization/product/devices/batch-update"
    imports = "/api/v1/organization/device/import/batch"
    return [
        Shape("Blynk", "batch update, one row, every label", batch, labels, 204),
        *(
            Shape(
                "Blynk",
                f"batch update, 10,000 rows over {devices:,} devices",
                batch,
                rows(devices),
                204,
                lambda n, devices=devices: devices * n,
                high=STREAMS,
            )
            for devices in (DEVICES // 10, DEVICES)
        ),
        Shape("Blynk", "batch update, debug, 9,999 rows skipped", batch, skipped, 200),
        Shape(
            "Blynk", "values of one device, every key", "/api/v1/organization/device/datastreams", values, 204
        ),
        Shape("Blynk", "value, one string", "/api/v1/organization/device/datastream", string_value, 204),
        Shape("Blynk", "history import, 10,000 values, padded", imports, history, 204, lambda n: 10_000),
        Shape("Blynk", "history import, too many values (400)", imports, too_many, 400),
        Shape(
            "Blynk", "widget property, padded", "/api/v1/organization/device/datastream/property", widget, 204
        ),
    ]


def buildingx_shapes(path: str) -> list[Shape]:
    def long_numbers(n: int) -> bytes:
        # 100 values whose timestamps and decimals are as long as the limit lets them be.
        data = [
            {
                "type": "PointValue",
                "attributes": {
                    "timestamp": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}.123{'4' * n}Z",
                    "value": f"1.{'0' * n}1",
                },
            }
            for i in range(100)
        ]
        return orjson.dumps({"data": data})

    def invalid(n: int) -> bytes:
        item = {"type": "PointValue", "attributes": {"timestamp": "x" * n, "value": "y" * n}}
        return orjson.dumps({"data": [item] * 100})

    def too_many(n: int) -> bytes:
        item = {"type": "PointValue", "attributes": {"timestamp": "2024-01-01T00:00:00Z", "value": "1"}}
        return orjson.dumps({"data": [item] * n})

    write = f"{path}?overwrite=true"
    return [
        Shape("Building X", "ingest, 100 values, longest texts", write, long_numbers, 204, lambda n: 100),
        Shape("Building X", "ingest, 100 invalid values (400)", write, invalid, 400),
        Shape("Building X", "ingest, too many values (400)", write, too_many, 400),
    ]
