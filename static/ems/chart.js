/*
 * The series chart of the admin's change pages (templates/admin/ems/series_chart.html).
 *
 * Data comes from the page's JSON endpoint (SeriesChartAdminMixin.chart_view): raw samples, or
 * per-period rollups (last value, min, max) when the range holds more than the server's cap. Every
 * zoom, pan or range change asks the server again for the new range, so a zoomed-in view gets the
 * finer resolution. Plain modern JS on the vendored uPlot; no build step.
 *
 * The root element's data-state ("loading", "ready", "error"), data-points, data-period-ms and
 * data-markers say what is drawn (the browser tests read them). `markers` in the JSON, when
 * present (the console adds them: where the series' alarms opened and cleared), are drawn as
 * dashed vertical lines: red where an alarm opened, green where it cleared.
 */
"use strict";

(function () {
  const MIN_SPAN_MS = 60 * 1000;
  const HEIGHT = 320;
  const LINE = "#417690";
  const BAND = "rgba(65, 118, 144, 0.18)";
  const EDGE = "rgba(65, 118, 144, 0.45)";
  const MARKER = { opened: "#ba2121", cleared: "#2e7d32" };
  // uPlot's time-axis formats, 24-hour: [tick increment (s), tick format, then the formats for a
  // new year, month, day, hour, minute, second under a tick, and 1 = show only on change].
  const TIME_AXIS = [
    [365 * 86400, "{YYYY}", null, null, null, null, null, null, 1],
    [28 * 86400, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [86400, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [3600, "{HH}:{mm}", "\n{D} {MMM}", null, "\n{D} {MMM}", null, null, null, 1],
    [60, "{HH}:{mm}", "\n{D} {MMM}", null, "\n{D} {MMM}", null, null, null, 1],
    [1, "{HH}:{mm}:{ss}", "\n{D} {MMM}", null, "\n{D} {MMM}", null, null, null, 1],
    [0.001, "{HH}:{mm}:{ss}.{fff}", "\n{D} {MMM}", null, "\n{D} {MMM}", null, null, null, 1],
  ].map(([increment, ...formats]) => [increment * 1000, ...formats]); // the chart's times are ms

  function formatNumber(value, increment) {
    if (value == null || !Number.isFinite(value)) return "–";
    // As many decimals as the axis step has (0.25 -> 2), or up to 3 for a single value.
    const digits = increment ? (increment.toFixed(6).replace(/0+$/, "").split(".")[1] || "").length : 3;
    return value.toLocaleString(undefined, {
      minimumFractionDigits: increment ? digits : 0,
      maximumFractionDigits: digits,
    });
  }

  function formatDuration(ms) {
    const units = [
      [7 * 86400000, "week"],
      [86400000, "d"],
      [3600000, "h"],
      [60000, "min"],
      [1000, "s"],
    ];
    for (const [size, name] of units) {
      if (ms >= size && ms % size === 0) {
        const n = ms / size;
        return name === "week" ? `${n} week${n === 1 ? "" : "s"}` : `${n} ${name}`;
      }
    }
    return `${ms} ms`;
  }

  class SeriesChart {
    constructor(root) {
      this.root = root;
      this.url = root.dataset.url;
      this.unit = root.dataset.unit || "";
      this.label = root.dataset.label || "value";
      this.timeZone = root.dataset.timeZone || "UTC";
      this.lastTs = root.dataset.lastTs ? Number(root.dataset.lastTs) : null;
      this.firstTs = null; // the series' first sample, from the chart's JSON: the "all" range
      this.plotElement = root.querySelector("[data-role=plot]");
      this.status = root.querySelector("[data-role=status]");
      this.custom = root.querySelector("[data-role=custom]");
      this.plot = null;
      this.markers = [];
      this.rolledUp = null;
      this.request = null;
      this.start = null;
      this.end = null;
      this.wallClock = new Intl.DateTimeFormat("en-CA", {
        timeZone: this.timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
      });
      this.bind();
      this.preset(86400000);
    }

    bind() {
      for (const button of this.root.querySelectorAll("[data-range]")) {
        const range = button.dataset.range;
        button.addEventListener("click", () => (range === "all" ? this.all() : this.preset(Number(range))));
      }
      for (const button of this.root.querySelectorAll("[data-pan]")) {
        button.addEventListener("click", () => this.pan(Number(button.dataset.pan)));
      }
      this.root.querySelector("[data-zoom-out]").addEventListener("click", () => this.zoomOut());
      this.custom.addEventListener("submit", (event) => {
        event.preventDefault();
        // Wall-clock times without offset: the server reads them in the organization's time zone.
        this.load(this.custom.elements.start.value, this.custom.elements.end.value, null);
      });
      new ResizeObserver(() => {
        if (this.plot) this.plot.setSize(this.size());
      }).observe(this.plotElement);
    }

    size() {
      return { width: Math.max(240, this.plotElement.clientWidth), height: HEIGHT };
    }

    // The last `span` ms up to now; for a series whose newest sample is older than that, the
    // span up to its newest sample, so a quiet series still shows its data.
    preset(span) {
      let end = Date.now();
      let note = null;
      if (this.lastTs !== null && this.lastTs < end - span) {
        end = this.lastTs + 1;
        note = "ending at the newest sample";
      }
      this.load(end - span, end, span, note);
    }

    // From the series' first to its last sample (load widens a span under a minute).
    all() {
      if (this.firstTs === null || this.lastTs === null) return;
      this.load(this.firstTs, this.lastTs + 1, "all");
    }

    pan(fraction) {
      if (this.start === null) return;
      const shift = Math.round((this.end - this.start) * fraction);
      this.load(this.start + shift, this.end + shift, null);
    }

    zoomOut() {
      if (this.start === null) return;
      const span = this.end - this.start;
      this.load(this.start - Math.round(span / 2), this.end + Math.round(span / 2), null);
    }

    markPreset(span) {
      for (const button of this.root.querySelectorAll("[data-range]")) {
        const range = button.dataset.range === "all" ? "all" : Number(button.dataset.range);
        button.setAttribute("aria-pressed", String(range === span));
      }
    }

    async load(start, end, presetSpan, note = null) {
      if (typeof start === "number" && typeof end === "number" && end - start < MIN_SPAN_MS) {
        const middle = (start + end) / 2;
        start = Math.floor(middle - MIN_SPAN_MS / 2);
        end = start + MIN_SPAN_MS;
      }
      this.markPreset(presetSpan);
      if (this.request) this.request.abort();
      const request = new AbortController();
      this.request = request;
      this.root.dataset.state = "loading";
      this.status.textContent = "Loading…";
      const query = new URLSearchParams({ start: String(start), end: String(end) });
      let body;
      try {
        const response = await fetch(`${this.url}?${query}`, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          signal: request.signal,
        });
        body = await response.json();
        if (!response.ok) throw new Error(body.error || response.statusText);
      } catch (error) {
        if (error.name === "AbortError") return;
        this.root.dataset.state = "error";
        this.status.textContent = `Could not load the chart: ${error.message}`;
        return;
      }
      if (request !== this.request) return;
      this.request = null;
      this.draw(body, note);
    }

    draw(body, note) {
      this.start = body.start;
      this.end = body.end;
      const rolledUp = body.period_ms !== null;
      const data = rolledUp ? this.withGaps(body) : [body.t, body.last];
      this.markers = Array.isArray(body.markers) ? body.markers : [];
      if (this.plot === null || this.rolledUp !== rolledUp) {
        if (this.plot) this.plot.destroy();
        this.rolledUp = rolledUp;
        this.plot = new uPlot(this.options(rolledUp), data, this.plotElement);
      } else {
        this.plot.setData(data);
      }
      this.plot.setScale("x", { min: body.start, max: body.end });
      this.custom.elements.start.value = this.wallTime(body.start);
      this.custom.elements.end.value = this.wallTime(body.end);
      this.root.dataset.points = String(body.points);
      this.root.dataset.periodMs = rolledUp ? String(body.period_ms) : "";
      this.root.dataset.bucket = body.bucket || "";
      if (body.first_ts != null) {
        this.firstTs = body.first_ts;
        this.lastTs = body.last_ts;
      }
      const allButton = this.root.querySelector("[data-range=all]");
      if (allButton) allButton.disabled = this.firstTs === null;
      this.root.dataset.markers = String(this.markers.length);
      this.root.dataset.state = "ready";
      this.status.textContent = this.describe(body, note);
    }

    // Rollups leave out periods without samples; a null between two records further apart than
    // a period makes uPlot break the line there instead of drawing across the gap. Local days
    // are 23 to 25 hours long: only a missing day is a gap.
    withGaps(body) {
      const columns = [[], [], [], []];
      const period = body.period_ms;
      const apart = body.bucket === "day" ? 1.5 * period : period;
      for (let i = 0; i < body.t.length; i++) {
        if (i > 0 && body.t[i] - body.t[i - 1] > apart) {
          columns[0].push(body.t[i - 1] + period);
          columns[1].push(null);
          columns[2].push(null);
          columns[3].push(null);
        }
        columns[0].push(body.t[i]);
        columns[1].push(body.min[i]);
        columns[2].push(body.max[i]);
        columns[3].push(body.last[i]);
      }
      return columns;
    }

    describe(body, note) {
      const range = `${this.wallTime(body.start).replace("T", " ")} to ${this.wallTime(body.end).replace("T", " ")}`;
      const suffix = note ? ` (${note})` : "";
      if (body.points === 0) return `No samples from ${range}${suffix}.`;
      const count = body.points.toLocaleString();
      if (body.period_ms === null) return `${count} samples from ${range}${suffix}.`;
      if (body.bucket === "day") {
        return (
          `${count} local days from ${range}${suffix}: ` +
          "the last value of each, with its minimum–maximum band."
        );
      }
      return (
        `${count} periods of ${formatDuration(body.period_ms)} from ${range}${suffix}: ` +
        "the last value of each, with its minimum–maximum band."
      );
    }

    // Epoch ms as "YYYY-MM-DDTHH:MM" on the organization's wall clock (a datetime-local value).
    wallTime(ms) {
      const parts = Object.fromEntries(this.wallClock.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
      return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
    }

    options(rolledUp) {
      const unit = this.unit;
      // The admin's theme colours (light or dark), as the page has them when the chart is made.
      const style = getComputedStyle(this.root);
      const text = style.getPropertyValue("--body-fg").trim() || "#333";
      const grid = style.getPropertyValue("--hairline-color").trim() || "#e8e8e8";
      const axis = { stroke: text, grid: { stroke: grid }, ticks: { stroke: grid } };
      const withUnit = (text) => (unit ? `${text} ${unit}` : text);
      const value = (u, v) => (v == null ? "–" : withUnit(formatNumber(v)));
      const series = [{ label: "Time", value: "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}" }];
      if (rolledUp) {
        series.push(
          { label: "Min", stroke: EDGE, width: 1, points: { show: false }, value },
          { label: "Max", stroke: EDGE, width: 1, points: { show: false }, value },
        );
      }
      series.push({ label: this.label, stroke: LINE, width: 1.5, value });
      return {
        ...this.size(),
        ms: 1,
        tzDate: (ts) => uPlot.tzDate(new Date(ts), this.timeZone),
        series,
        bands: rolledUp ? [{ series: [2, 1], fill: BAND }] : [],
        scales: { x: { time: true } },
        axes: [
          { ...axis, values: TIME_AXIS },
          {
            ...axis,
            size: 80,
            values: (u, splits, axisIndex, space, increment) =>
              splits.map((v) => withUnit(formatNumber(v, increment))),
          },
        ],
        cursor: {
          drag: { x: true, y: false, setScale: false },
          bind: { dblclick: () => null },
        },
        hooks: {
          init: [(u) => this.bindPanning(u)],
          setSelect: [(u) => this.zoomToSelection(u)],
          draw: [(u) => this.drawMarkers(u)],
        },
      };
    }

    // A dashed vertical line, over the whole plot, at each marker within the drawn range.
    drawMarkers(u) {
      const { ctx, bbox } = u;
      ctx.save();
      ctx.lineWidth = Math.max(1, devicePixelRatio);
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      for (const marker of this.markers || []) {
        const x = Math.round(u.valToPos(marker.ts, "x", true));
        if (x < bbox.left || x > bbox.left + bbox.width) continue;
        ctx.strokeStyle = MARKER[marker.event] || LINE;
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    }

    zoomToSelection(u) {
      if (u.select.width < 3) return;
      const start = Math.floor(u.posToVal(u.select.left, "x"));
      const end = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      this.load(start, end, null);
    }

    // Shift+drag moves the range: the drawn data follows the pointer, the new range is loaded
    // on release. Capturing mousedown first keeps uPlot from starting a zoom selection.
    bindPanning(u) {
      u.over.addEventListener(
        "mousedown",
        (event) => {
          if (!event.shiftKey || event.button !== 0) return;
          event.preventDefault();
          event.stopImmediatePropagation();
          const x0 = event.clientX;
          const { min, max } = u.scales.x;
          const msPerPixel = (max - min) / u.over.getBoundingClientRect().width;
          let shift = 0;
          const move = (e) => {
            shift = Math.round((x0 - e.clientX) * msPerPixel);
            u.setScale("x", { min: min + shift, max: max + shift });
          };
          const up = () => {
            document.removeEventListener("mousemove", move);
            document.removeEventListener("mouseup", up);
            if (shift !== 0) this.load(this.start + shift, this.end + shift, null);
          };
          document.addEventListener("mousemove", move);
          document.addEventListener("mouseup", up);
        },
        { capture: true },
      );
    }
  }

  function start() {
    for (const root of document.querySelectorAll(".ems-chart[data-url]")) {
      root.emsChart = new SeriesChart(root);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
