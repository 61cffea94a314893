/*
 * The analysis page (templates/admin/ems/analysis.html, apps/console/analysis.py).
 *
 * The page's state lives in its query string:
 *   ?series=<id>&series=<id>...&range=today|7d|30d|month|year|last_year|custom
 *    [&start=YYYY-MM-DD&end=YYYY-MM-DD (custom, both days included)]&bucket=auto|quarter_hour|...
 *    [&compare=previous|last_year][&heat=<id>]
 * Every change pushes a new history entry (history.pushState) and redraws; the back button
 * (popstate) and a reload read the state from the URL again, so a link shows the same view.
 *
 * Data: statistics.json (apps/console/analytics.py) over the local days of the range; with
 * `bucket=auto` the server picks the size and says which, and the comparison period is asked
 * with that size so its buckets line up index by index. The heat map asks hourly buckets of
 * one series and places each by the local day and hour its ISO start names (the series' zone).
 * Plain modern JS on the vendored uPlot; no build step.
 */
"use strict";

(function () {
  const HEIGHT = 360;
  const COLOURS = ["#417690", "#d9822b", "#2e7d32", "#ba2121", "#7b1fa2", "#00838f", "#6d4c41", "#c2185b", "#546e7a", "#9e9d24"];
  const CONSUMPTION = new Set(["counter", "interval", "virtual"]);
  const RANGES = ["today", "7d", "30d", "month", "year", "last_year", "custom"];
  const BUCKETS = ["auto", "quarter_hour", "hour", "day", "week", "month"];
  const COMPARES = ["", "previous", "last_year"];
  const DAY_MS = 86400000;
  // uPlot's time-axis formats, 24-hour, as in chart.js: [tick increment (ms), tick format, then
  // the formats for a new year, month, day, hour, minute, second under a tick, 1 = on change].
  const TIME_AXIS = [
    [365 * 86400, "{YYYY}", null, null, null, null, null, null, 1],
    [28 * 86400, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [86400, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [3600, "{HH}:{mm}", "\n{D} {MMM}", null, "\n{D} {MMM}", null, null, null, 1],
    [60, "{HH}:{mm}", "\n{D} {MMM}", null, "\n{D} {MMM}", null, null, null, 1],
  ].map(([increment, ...formats]) => [increment * 1000, ...formats]);

  // Local dates as UTC midnights, so date arithmetic never meets the browser's own zone.
  const parseDate = (text) => new Date(`${text}T00:00:00Z`);
  const isoDate = (date) => date.toISOString().slice(0, 10);
  const addDays = (date, days) => new Date(date.getTime() + days * DAY_MS);
  function addMonths(date, months) {
    return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  }
  function addYears(date, years) {
    const copy = new Date(date.getTime());
    copy.setUTCFullYear(copy.getUTCFullYear() + years);
    return copy;
  }
  const isDate = (text) => /^\d{4}-\d{2}-\d{2}$/.test(text || "") && !Number.isNaN(parseDate(text).getTime());

  function formatNumber(value) {
    if (value == null || !Number.isFinite(value)) return "–";
    return value.toLocaleString(undefined, { maximumFractionDigits: Math.abs(value) >= 100 ? 1 : 3 });
  }

  const isConsumption = (series) => CONSUMPTION.has(series.kind);
  const figure = (series, bucket) => (bucket == null ? null : isConsumption(series) ? bucket.total : bucket.mean);

  class Analysis {
    constructor(root, config) {
      this.root = root;
      this.config = config;
      this.statisticsUrl = root.dataset.statisticsUrl;
      this.searchUrl = root.dataset.searchUrl;
      this.known = new Map(config.series.map((one) => [one.id, one]));
      this.today = parseDate(config.today);
      this.plotElement = root.querySelector("[data-role=plot]");
      this.statusElement = root.querySelector("[data-role=status]");
      this.heatSelect = document.querySelector("#analysis-heatmap [data-role=heat-series]");
      this.plot = null;
      this.generation = 0;
      this.state = this.stateFromUrl();
      this.bind();
      this.render();
    }

    stateFromUrl() {
      const query = new URLSearchParams(window.location.search);
      const ids = query.getAll("series").map(Number).filter((id) => this.known.has(id));
      const state = {
        series: [...new Set(ids)].slice(0, this.config.max_series),
        range: RANGES.includes(query.get("range")) ? query.get("range") : "7d",
        start: query.get("start") || "",
        end: query.get("end") || "",
        bucket: BUCKETS.includes(query.get("bucket")) ? query.get("bucket") : "auto",
        compare: COMPARES.includes(query.get("compare")) ? query.get("compare") : "",
        heat: Number(query.get("heat")) || null,
      };
      if (state.range === "custom" && !(isDate(state.start) && isDate(state.end) && state.start <= state.end)) {
        state.range = "7d";
      }
      if (!state.series.includes(state.heat)) state.heat = state.series[0] || null;
      return state;
    }

    urlOf(state) {
      const query = new URLSearchParams();
      state.series.forEach((id) => query.append("series", id));
      query.set("range", state.range);
      if (state.range === "custom") {
        query.set("start", state.start);
        query.set("end", state.end);
      }
      query.set("bucket", state.bucket);
      if (state.compare) query.set("compare", state.compare);
      if (state.heat) query.set("heat", state.heat);
      return `${window.location.pathname}?${query}`;
    }

    /** Applies `change` to the state, records it in the history and redraws. */
    update(change) {
      this.state = { ...this.state, ...change };
      if (!this.state.series.includes(this.state.heat)) this.state.heat = this.state.series[0] || null;
      window.history.pushState(null, "", this.urlOf(this.state));
      this.render();
    }

    bind() {
      this.root.querySelectorAll("[data-range]").forEach((button) =>
        button.addEventListener("click", () => this.update({ range: button.dataset.range })),
      );
      this.root.querySelectorAll("[data-compare]").forEach((button) =>
        button.addEventListener("click", () => this.update({ compare: button.dataset.compare })),
      );
      const bucket = this.root.querySelector("[data-role=bucket]");
      bucket.addEventListener("change", () => this.update({ bucket: bucket.value }));
      const custom = this.root.querySelector("[data-role=custom]");
      custom.addEventListener("submit", (event) => {
        event.preventDefault();
        const start = custom.elements.start.value;
        const end = custom.elements.end.value;
        if (isDate(start) && isDate(end) && start <= end) this.update({ range: "custom", start, end });
      });
      this.heatSelect.addEventListener("change", () => this.update({ heat: Number(this.heatSelect.value) }));
      const search = this.root.querySelector("[data-role=search]");
      let timer = null;
      search.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(() => this.search(search.value), 250);
      });
      window.addEventListener("popstate", () => {
        this.state = this.stateFromUrl();
        this.render();
      });
      window.addEventListener("resize", () => {
        if (this.plot) this.plot.setSize({ width: this.plotWidth(), height: HEIGHT });
      });
    }

    async search(text) {
      const results = this.root.querySelector("[data-role=results]");
      if (!text.trim()) {
        results.replaceChildren();
        return;
      }
      const response = await fetch(`${this.searchUrl}?${new URLSearchParams({ q: text })}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const body = await response.json();
      results.replaceChildren(
        ...body.series.map((one) => {
          this.known.set(one.id, one);
          const item = document.createElement("li");
          const button = document.createElement("button");
          button.type = "button";
          button.className = "button";
          button.dataset.add = one.id;
          button.textContent = `${one.name}${one.unit ? ` (${one.unit})` : ""}`;
          button.title = [one.meter_code, one.site, one.organization].filter(Boolean).join(" · ");
          const full = this.state.series.length >= this.config.max_series;
          button.disabled = full || this.state.series.includes(one.id);
          button.addEventListener("click", () => {
            if (!this.state.series.includes(one.id) && this.state.series.length < this.config.max_series) {
              this.update({ series: [...this.state.series, one.id] });
            }
            results.replaceChildren();
          });
          item.append(button);
          return item;
        }),
      );
    }

    /** [start, end) local dates of the range (end excluded), as UTC-midnight Dates. */
    period() {
      const today = this.today;
      const firstOfMonth = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
      const firstOfYear = new Date(Date.UTC(today.getUTCFullYear(), 0, 1));
      switch (this.state.range) {
        case "today":
          return [today, addDays(today, 1)];
        case "30d":
          return [addDays(today, -29), addDays(today, 1)];
        case "month":
          return [firstOfMonth, addMonths(firstOfMonth, 1)];
        case "year":
          return [firstOfYear, addYears(firstOfYear, 1)];
        case "last_year":
          return [addYears(firstOfYear, -1), firstOfYear];
        case "custom":
          return [parseDate(this.state.start), addDays(parseDate(this.state.end), 1)];
        default:
          return [addDays(today, -6), addDays(today, 1)];
      }
    }

    /** The period compared with: the one before (a month before a month, a year before a
     * year, else as many days earlier) or the same dates a year earlier. */
    comparePeriod([start, end]) {
      if (this.state.compare === "last_year") return [addYears(start, -1), addYears(end, -1)];
      if (this.state.range === "month") return [addMonths(start, -1), start];
      if (this.state.range === "year" || this.state.range === "last_year") return [addYears(start, -1), start];
      const days = Math.round((end - start) / DAY_MS);
      return [addDays(start, -days), start];
    }

    async statistics(ids, [start, end], bucket) {
      const query = new URLSearchParams();
      ids.forEach((id) => query.append("series", id));
      query.set("start", isoDate(start));
      query.set("end", isoDate(end));
      query.set("bucket", bucket);
      const response = await fetch(`${this.statisticsUrl}?${query}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      return body;
    }

    renderControls() {
      const state = this.state;
      this.root.querySelectorAll("[data-range]").forEach((button) =>
        button.setAttribute("aria-pressed", String(button.dataset.range === state.range)),
      );
      this.root.querySelectorAll("[data-compare]").forEach((button) =>
        button.setAttribute("aria-pressed", String(button.dataset.compare === state.compare)),
      );
      this.root.querySelector("[data-role=bucket]").value = state.bucket;
      const [start, end] = this.period();
      const custom = this.root.querySelector("[data-role=custom]");
      custom.elements.start.value = isoDate(start);
      custom.elements.end.value = isoDate(addDays(end, -1));
      const chosen = this.root.querySelector("[data-role=chosen]");
      chosen.replaceChildren(
        ...state.series.map((id, index) => {
          const one = this.known.get(id);
          const item = document.createElement("li");
          item.style.setProperty("--swatch", COLOURS[index % COLOURS.length]);
          item.dataset.series = id;
          item.textContent = `${one.name}${one.unit ? ` (${one.unit})` : ""}`;
          item.title = [one.meter_code, one.site, one.organization, one.zone].filter(Boolean).join(" · ");
          const remove = document.createElement("button");
          remove.type = "button";
          remove.textContent = "×";
          remove.setAttribute("aria-label", `Remove ${one.name}`);
          remove.addEventListener("click", () => this.update({ series: state.series.filter((other) => other !== id) }));
          item.append(remove);
          return item;
        }),
      );
      this.heatSelect.replaceChildren(
        ...state.series.map((id) => new Option(this.known.get(id).name, id, false, id === state.heat)),
      );
    }

    setStatus(state, text) {
      this.root.dataset.state = state;
      this.statusElement.textContent = text;
    }

    async render() {
      const generation = ++this.generation;
      this.renderControls();
      const ids = this.state.series;
      if (!ids.length) {
        this.clear();
        this.setStatus("ready", "Add a series to analyse.");
        return;
      }
      this.setStatus("loading", "Loading…");
      const period = this.period();
      try {
        const main = await this.statistics(ids, period, this.state.bucket);
        const compared = this.state.compare
          ? await this.statistics(ids, this.comparePeriod(period), main.bucket)
          : null;
        const heat = this.state.heat ? await this.heatStatistics(period) : null;
        if (generation !== this.generation) return; // a newer state was asked for meanwhile
        this.draw(main, compared, period);
        this.drawTable(main, compared);
        this.drawHeat(heat);
        this.root.dataset.buckets = main.series[0].buckets.length;
        this.root.dataset.bucket = main.bucket;
        const what = compared ? `, compared with ${isoDate(this.comparePeriod(period)[0])} – ${isoDate(addDays(this.comparePeriod(period)[1], -1))}` : "";
        this.setStatus(
          "ready",
          `${main.series.length} series, ${isoDate(period[0])} – ${isoDate(addDays(period[1], -1))}: ${main.series[0].buckets.length} buckets of ${main.bucket.replace("_", " ")}${what}.`,
        );
      } catch (error) {
        if (generation !== this.generation) return;
        this.setStatus("error", `Could not load the statistics: ${error.message}`);
      }
    }

    async heatStatistics(period) {
      try {
        return await this.statistics([this.state.heat], period, "hour");
      } catch (error) {
        return { error: error.message };
      }
    }

    clear() {
      if (this.plot) this.plot.destroy();
      this.plot = null;
      document.querySelector("#analysis-table [data-role=table]").replaceChildren();
      document.querySelector("#analysis-heatmap [data-role=heat]").replaceChildren();
    }

    plotWidth() {
      return Math.max(this.plotElement.clientWidth || 0, 300);
    }

    draw(main, compared, period) {
      const starts = main.series[0].buckets.map((bucket) => Date.parse(bucket.start));
      const width = starts.length > 1 ? starts[starts.length - 1] - starts[starts.length - 2] : period[1] - period[0];
      const xs = [...starts, starts[starts.length - 1] + width]; // one more edge: the last bucket's end
      const data = [xs];
      const series = [{ value: (u, ts) => (ts == null ? "–" : this.formatTime(ts, main.series[0].zone)) }];
      const bands = [];
      const units = [];
      const sets = [[main, ""]];
      if (compared) sets.push([compared, this.state.compare === "last_year" ? " (last year)" : " (previous)"]);
      const bars = [];
      sets.forEach(([set, suffix], setIndex) => {
        set.series.forEach((one, index) => {
          const colour = COLOURS[index % COLOURS.length];
          const unit = one.unit || "value";
          if (!units.includes(unit)) units.push(unit);
          const column = (key) => xs.map((_, i) => (one.buckets[i] ? one.buckets[i][key] : null));
          const faded = setIndex > 0;
          if (isConsumption(one)) {
            bars.push(data.length);
            data.push(column("total"));
            series.push({
              label: `${one.name}${suffix}`,
              scale: unit,
              stroke: colour,
              fill: faded ? `${colour}55` : `${colour}cc`,
              width: 0,
              value: (u, v) => formatNumber(v) + (one.unit ? ` ${one.unit}` : ""),
              paths: null, // set below, once the bar slots are known
            });
          } else {
            const mean = data.length;
            data.push(column("mean"), column("min"), column("max"));
            const value = (u, v) => formatNumber(v) + (one.unit ? ` ${one.unit}` : "");
            series.push(
              { label: `${one.name}${suffix}`, scale: unit, stroke: colour, width: faded ? 1 : 2, dash: faded ? [6, 4] : undefined, value },
              { label: `${one.name}${suffix} min`, scale: unit, stroke: `${colour}66`, width: 1, value },
              { label: `${one.name}${suffix} max`, scale: unit, stroke: `${colour}66`, width: 1, value },
            );
            bands.push({ series: [mean + 2, mean + 1], fill: `${colour}22` });
          }
        });
      });
      bars.forEach((index, slot) => {
        series[index].paths = this.barPaths(slot, bars.length);
      });
      const axes = [
        { values: TIME_AXIS },
        ...units.map((unit, index) => ({
          scale: unit,
          label: unit === "value" ? "" : unit,
          side: index === 0 ? 3 : 1,
          grid: { show: index === 0 },
          size: 60,
          values: (u, ticks) => ticks.map((tick) => formatNumber(tick)),
        })),
      ];
      const scales = { x: { time: true, range: () => [xs[0], xs[xs.length - 1]] } };
      units.forEach((unit) => {
        scales[unit] = { range: (u, min, max) => [Math.min(0, min ?? 0), max == null || max <= 0 ? 1 : max * 1.05] };
      });
      const zone = main.series[0].zone;
      const options = {
        width: this.plotWidth(),
        height: HEIGHT,
        ms: 1,
        tzDate: (ts) => uPlot.tzDate(new Date(ts), zone),
        scales,
        axes,
        series,
        bands,
        cursor: { drag: { x: false, y: false } },
        hooks: { setCursor: [(u) => this.highlightRow(u.cursor.idx)] },
      };
      if (this.plot) this.plot.destroy();
      this.plot = new uPlot(options, data, this.plotElement);
      this.root.emsAnalysis = this;
    }

    /** Bars filling their bucket [x_i, x_i+1), side by side: slot `slot` of `slots`. */
    barPaths(slot, slots) {
      return (u, seriesIndex, first, last) => {
        const xs = u.data[0];
        const ys = u.data[seriesIndex];
        const scale = u.series[seriesIndex].scale;
        const path = new Path2D();
        const zero = u.valToPos(0, scale, true);
        for (let i = first; i <= Math.min(last, xs.length - 2); i++) {
          if (ys[i] == null) continue;
          const left = u.valToPos(xs[i], "x", true);
          const right = u.valToPos(xs[i + 1], "x", true);
          const gap = (right - left) * 0.1;
          const each = (right - left - 2 * gap) / slots;
          const top = u.valToPos(ys[i], scale, true);
          path.rect(left + gap + slot * each, Math.min(top, zero), Math.max(each, 1), Math.abs(zero - top));
        }
        return { stroke: path, fill: path };
      };
    }

    formatTime(ms, zone) {
      return new Date(ms).toLocaleString("en-GB", {
        timeZone: zone,
        year: "numeric",
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
      });
    }

    highlightRow(index) {
      const rows = document.querySelectorAll("#analysis-table tbody tr");
      rows.forEach((row, i) => row.classList.toggle("ems-analysis-hover", i === index));
    }

    drawTable(main, compared) {
      const table = document.createElement("table");
      const head = table.createTHead().insertRow();
      const th = (row, text, numeric) => {
        const cell = document.createElement("th");
        cell.textContent = text;
        cell.scope = "col";
        if (numeric) cell.className = "ems-number";
        row.append(cell);
      };
      th(head, `Start (${main.series[0].zone})`);
      const columns = [];
      main.series.forEach((one, index) => {
        const unit = one.unit ? ` (${one.unit})` : "";
        const what = isConsumption(one) ? "total" : "mean";
        columns.push([one, index, main]);
        th(head, `${one.name}, ${what}${unit}`, true);
        if (compared) {
          columns.push([compared.series[index], index, compared]);
          th(head, `${one.name}, ${this.state.compare === "last_year" ? "last year" : "previous"}${unit}`, true);
        }
      });
      const body = table.createTBody();
      main.series[0].buckets.forEach((bucket, i) => {
        const row = body.insertRow();
        const start = document.createElement("th");
        start.scope = "row";
        start.textContent = bucket.start.slice(0, 16).replace("T", " ");
        row.append(start);
        columns.forEach(([one]) => {
          const cell = row.insertCell();
          cell.className = "ems-number";
          cell.textContent = formatNumber(figure(one, one.buckets[i]));
        });
      });
      const foot = table.createTFoot().insertRow();
      const label = document.createElement("th");
      label.scope = "row";
      label.textContent = "Total / mean";
      foot.append(label);
      columns.forEach(([one]) => {
        const cell = foot.insertCell();
        cell.className = "ems-number";
        cell.textContent = formatNumber(this.summary(one));
      });
      document.querySelector("#analysis-table [data-role=table]").replaceChildren(table);
    }

    /** The period's total of a consumption series, or the count-weighted mean of a measurement. */
    summary(one) {
      const buckets = one.buckets.filter((bucket) => figure(one, bucket) != null);
      if (!buckets.length) return null;
      if (isConsumption(one)) return buckets.reduce((sum, bucket) => sum + bucket.total, 0);
      const count = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
      return count ? buckets.reduce((sum, bucket) => sum + bucket.mean * bucket.count, 0) / count : null;
    }

    drawHeat(heat) {
      const holder = document.querySelector("#analysis-heatmap [data-role=heat]");
      const scale = document.querySelector("#analysis-heatmap [data-role=heat-scale]");
      scale.textContent = "";
      if (!heat) {
        holder.replaceChildren();
        return;
      }
      if (heat.error) {
        const note = document.createElement("p");
        note.className = "help";
        note.textContent = `No heat map for this range: ${heat.error}`;
        holder.replaceChildren(note);
        return;
      }
      const one = heat.series[0];
      const days = new Map();
      one.buckets.forEach((bucket) => {
        const value = figure(one, bucket);
        if (value == null) return;
        const day = bucket.start.slice(0, 10);
        const hour = Number(bucket.start.slice(11, 13));
        if (!days.has(day)) days.set(day, new Array(24).fill(null));
        const hours = days.get(day);
        // An hour the clock shows twice (the autumn change) adds up, or averages for a mean.
        hours[hour] = hours[hour] == null ? value : isConsumption(one) ? hours[hour] + value : (hours[hour] + value) / 2;
      });
      const values = [...days.values()].flat().filter((value) => value != null);
      const low = Math.min(...values);
      const high = Math.max(...values);
      const table = document.createElement("table");
      table.dataset.series = one.id;
      const head = table.createTHead().insertRow();
      head.append(document.createElement("th"));
      for (let hour = 0; hour < 24; hour++) {
        const cell = document.createElement("th");
        cell.scope = "col";
        cell.textContent = String(hour).padStart(2, "0");
        head.append(cell);
      }
      const body = table.createTBody();
      const unit = one.unit ? ` ${one.unit}` : "";
      for (const [day, hours] of [...days.entries()].sort()) {
        const row = body.insertRow();
        const label = document.createElement("th");
        label.scope = "row";
        label.textContent = day;
        row.append(label);
        hours.forEach((value, hour) => {
          const cell = row.insertCell();
          if (value == null) return;
          const share = high > low ? (value - low) / (high - low) : 0.5;
          cell.style.background = `hsl(${Math.round(55 - 55 * share)}, 90%, ${Math.round(88 - 43 * share)}%)`;
          cell.title = `${day} ${String(hour).padStart(2, "0")}:00 – ${formatNumber(value)}${unit}`;
        });
      }
      if (values.length) {
        scale.textContent = `${isConsumption(one) ? "Consumption" : "Mean"} per hour: ${formatNumber(low)} (pale) to ${formatNumber(high)}${unit} (dark).`;
      }
      holder.replaceChildren(table);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("analysis");
    const config = document.getElementById("analysis-config");
    if (root && config && window.uPlot) new Analysis(root, JSON.parse(config.textContent));
  });
})();
