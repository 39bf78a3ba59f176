/* The forecast console: reads /models/current, /models/decision, /models/series and
 * /models/history of this service, and posts pasted rows to /predict. Errors are shown in words. */
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const identifier = params.get("identifier") || "";
  $("identifier").value = identifier;
  const query = identifier ? `?identifier=${encodeURIComponent(identifier)}` : "";
  const state = { model: null, series: null, chart: null, forecasts: [] };

  function showError(what, message) {
    const p = document.createElement("p");
    p.textContent = `${what}: ${message}`;
    $("errors").append(p);
  }

  async function get(path, binary) {
    const res = await fetch(path + query);
    if (!res.ok) {
      let detail = `HTTP ${res.status}`;
      try {
        detail = (await res.json()).detail || detail;
      } catch {}
      throw new Error(detail);
    }
    return binary ? new Uint8Array(await res.arrayBuffer()) : res.json();
  }

  const fmt = (v) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : Number(v).toPrecision(5));
  const cell = (row, text, value) => {
    const td = row.insertCell();
    td.textContent = text;
    if (value !== undefined && value !== null) td.dataset.value = String(value);
    return td;
  };

  function renderModel(m) {
    const card = m.card;
    const rows = [
      ["run_id", m.run_id, "run-id"],
      ["type", m.model_type],
      ["scope", m.scope],
      ["promoted", m.pointer ? m.pointer.promoted_at : "-"],
      ["why", "-", "promotion-reason"],
      ["features", card.features.join(", ")],
      ["targets", card.targets.join(", ")],
      ["window / horizon", `${card.window} rows / ${card.horizon} step(s) of ${card.step_seconds} s`],
      ["trained", card.created_at],
    ];
    for (const [k, v, id] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      if (id) dd.id = id;
      $("model").append(dt, dd);
    }
    $("window-size").textContent = String(card.window);
  }

  function renderScoreboard(decision) {
    const targets = Object.keys(decision.baseline.per_target || {});
    const base = decision.baseline.per_target || {};
    const head = $("scoreboard").tHead.insertRow();
    for (const h of ["kind", "type", "run_id", "status", "score"]) cell(head, h);
    for (const t of targets) for (const h of ["MAE", "RMSE", "RMSE/persist."]) cell(head, `${t} ${h}`);
    const winner = decision.winner ? decision.winner.run_id : null;
    for (const e of decision.scoreboard) {
      const row = $("scoreboard").tBodies[0].insertRow();
      row.dataset.runId = e.run_id;
      row.dataset.kind = e.kind;
      if (e.run_id === winner && e.kind === "candidate") row.className = "winner";
      cell(row, e.run_id === winner && e.kind === "candidate" ? "★ winner" : e.kind);
      cell(row, e.model_type);
      cell(row, e.run_id);
      cell(row, e.error ? `${e.status}: ${e.error}` : e.status);
      cell(row, fmt(e.score), e.score);
      for (const t of targets) {
        const m = e.per_target ? e.per_target[t] : null;
        cell(row, fmt(m?.mae), m?.mae).dataset.metric = `${t}.mae`;
        cell(row, fmt(m?.rmse), m?.rmse).dataset.metric = `${t}.rmse`;
        const ratio = m && base[t] ? m.rmse / base[t].rmse : null;
        cell(row, fmt(ratio), ratio).dataset.metric = `${t}.ratio`;
      }
    }
    $("decision-reason").textContent =
      `${decision.decided_at}: ${decision.reason} (${decision.n_test_windows} test windows)`;
  }

  /** functions/evaluate/series.ts: "FLTSSER1", u32 header length, JSON header, pad to 8, ts f64, series f32. */
  function decodeSeries(bytes) {
    const magic = new TextDecoder().decode(bytes.subarray(0, 8));
    if (magic !== "FLTSSER1") throw new Error("the stored series is not in the expected format");
    const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
    const copy = bytes.slice(Math.ceil((12 + length) / 8) * 8);
    const n = header.n;
    const k = header.targets.length;
    const ts = new Float64Array(copy.buffer, 0, n);
    const values = header.series.map((_, i) => new Float32Array(copy.buffer, n * 8 + i * n * k * 4, n * k));
    return { header, ts, values };
  }

  function chartData() {
    const s = state.series;
    const { header } = s;
    const k = header.targets.length;
    const champion = header.series.findIndex((x) => x.name === state.model.run_id);
    const pick = [0, champion >= 0 ? champion : -1, header.series.length - 1].filter((i) => i >= 0);
    const extra = state.forecasts.map((f) => f.t).filter((t) => !s.ts.includes(t));
    const xs = [...s.ts, ...extra].sort((a, b) => a - b);
    const at = new Map(Array.from(s.ts, (t, w) => [t, w]));
    const series = [{}];
    const data = [xs];
    header.targets.forEach((target, j) => {
      for (const i of pick) {
        const info = header.series[i];
        const label =
          info.kind === "actual"
            ? `actual ${target}`
            : `${info.kind === "baseline" ? "persistence" : `champion ${info.model_type}`} ${target}`;
        series.push({
          label,
          scale: j === 0 ? "a" : "b",
          stroke: COLORS[(j * 3 + pick.indexOf(i)) % COLORS.length],
          width: info.kind === "actual" ? 1.5 : 1,
          dash: info.kind === "baseline" ? [4, 4] : undefined,
        });
        data.push(xs.map((t) => (at.has(t) ? s.values[i][at.get(t) * k + j] : null)));
      }
      series.push({
        label: `forecast now ${target}`,
        scale: j === 0 ? "a" : "b",
        stroke: "#d62728",
        width: 0,
        points: { show: true, size: 9, fill: "#d62728" },
      });
      data.push(
        xs.map((t) => {
          const f = state.forecasts.find((x) => x.t === t);
          return f ? f.values[target] : null;
        }),
      );
    });
    return { series, data };
  }
  const COLORS = ["#1f2d3d", "#2f7ed8", "#8c8c8c", "#2ca02c", "#9467bd", "#b0b0b0"];

  function drawChart() {
    const { series, data } = chartData();
    const targets = state.series.header.targets;
    if (state.chart) state.chart.destroy();
    const opts = {
      width: Math.max(600, $("chart").clientWidth || document.body.clientWidth - 60),
      height: 380,
      series,
      scales: { x: { time: true } },
      axes: [
        {},
        { scale: "a", label: targets[0], size: 90 },
        { scale: "b", side: 1, label: targets[1] || "", size: 90, grid: { show: false } },
      ],
      cursor: { drag: { x: true, y: false } },
    };
    state.chart = new window.uPlot(opts, data, $("chart"));
    window.consoleChart = state.chart;
    $("chart").dataset.points = String(state.series.header.n);
  }

  function renderHistory(h) {
    if (h.entries.length === 0) {
      const li = document.createElement("li");
      li.textContent = "no promotion recorded for this scope";
      $("history").append(li);
    }
    for (const e of [...h.entries].reverse()) {
      const li = document.createElement("li");
      li.dataset.runId = e.pointer.run_id;
      li.textContent = `${e.pointer.promoted_at}  ${e.pointer.model_type} ${e.pointer.run_id} (from ${e.previous ? e.previous.run_id : "none"}): ${e.reason}`;
      $("history").append(li);
    }
    const mine = h.entries.filter((e) => state.model && e.pointer.run_id === state.model.run_id).pop();
    if (mine) $("promotion-reason").textContent = mine.reason;
  }

  function parseCsv(text, card) {
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== "");
    if (lines.length < 2) throw new Error("the CSV needs a header row and at least one data row");
    const header = lines[0].split(",").map((h) => h.trim());
    const tsCol = header.findIndex((h) => h === "time" || h === "ts");
    if (tsCol < 0) throw new Error("the header has no 'time' or 'ts' column");
    const missing = card.features.filter((f) => !header.includes(f));
    if (missing.length) throw new Error(`the header lacks the model's feature(s): ${missing.join(", ")}`);
    const rows = lines.slice(1).slice(-card.window);
    if (rows.length < card.window)
      throw new Error(`the model needs ${card.window} rows; the CSV has ${rows.length}`);
    const data = { ts: [] };
    for (const f of card.features) data[f] = [];
    rows.forEach((line, r) => {
      const cells = line.split(",");
      if (cells.length !== header.length)
        throw new Error(
          `row ${r + 1} of the last ${card.window} has ${cells.length} cells, the header ${header.length}`,
        );
      const t = cells[tsCol].trim();
      data.ts.push(/^\d{4}-\d\d-\d\d \d/.test(t) ? t.replace(" ", "T") : t);
      for (const f of card.features) {
        const v = Number(cells[header.indexOf(f)]);
        if (!Number.isFinite(v)) throw new Error(`row ${r + 1}: '${f}' is not a number`);
        data[f].push(v);
      }
    });
    return data;
  }

  async function forecastNow() {
    $("forecast-result").textContent = "";
    $("errors").textContent = "";
    try {
      if (!state.model) throw new Error("no model is serving");
      const data = parseCsv($("csv").value, state.model.card);
      const res = await fetch("/predict", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(identifier ? { data, identifier } : { data }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body.detail || `HTTP ${res.status}`);
      const p = body.predictions;
      $("forecast-result").dataset.values = JSON.stringify(p);
      $("forecast-result").textContent = `${p
        .map((s) => `${s.ts}: ${state.model.card.targets.map((t) => `${t} ${fmt(s[t])}`).join(", ")}`)
        .join("; ")} (run ${body.run_id})`;
      state.forecasts = p.map((s) => ({ t: Date.parse(s.ts) / 1000, values: s }));
      if (state.series) drawChart();
    } catch (error) {
      showError("forecast now", error.message);
    }
  }

  $("csv-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (file) $("csv").value = await file.text();
  });
  $("forecast-button").addEventListener("click", forecastNow);

  async function load() {
    try {
      state.model = await get("/models/current");
      renderModel(state.model);
    } catch (error) {
      showError("current model", `${error.message} (nothing to show until a model is promoted)`);
      return;
    }
    const steps = [
      ["last decision", async () => renderScoreboard((await get("/models/decision")).decision)],
      [
        "forecast series",
        async () => {
          state.series = decodeSeries(await get("/models/series", true));
          drawChart();
        },
      ],
      ["promotion history", async () => renderHistory(await get("/models/history"))],
    ];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (error) {
        showError(what, error.message);
      }
    }
    document.body.dataset.loaded = "true";
  }
  load();
})();
