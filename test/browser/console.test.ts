/**
 * The forecast console and /docs in headless Chromium, on a service serving a model that the real
 * evaluate promoted: run_id, chart points, scoreboard numbers and "forecast now" checked against the
 * service's own answers; no browser console errors; a screenshot in .flts/artifacts/console.png.
 * Also: every route is in /openapi.json, and each documented example gets its documented status.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeSeries } from "../../functions/evaluate/series.ts";
import { routeTable } from "../../functions/inference/routes.ts";
import { repoRoot } from "../../local/paths.ts";
import { post, startService } from "../integration/inference-harness.ts";
import { sliceTestCsv } from "../integration/pipeline-helpers.ts";
import { launchBrowser, openPage } from "./chromium.ts";
import { type ConsoleFixture, consoleFixture } from "./console-fixture.ts";

const artifacts = join(repoRoot, ".flts", "artifacts");

/** The little of the DOM these checks touch (the project compiles without the DOM library). */
interface El {
  textContent: string | null;
  value: string;
  dataset: Record<string, string | undefined>;
  classList: { contains(name: string): boolean };
  querySelectorAll(selector: string): ArrayLike<El>;
}
interface PageGlobals {
  consoleChart: { data: unknown[][] };
  document: { querySelectorAll(selector: string): { length: number } };
}
let fixture: ConsoleFixture;
let browser: Browser;

beforeAll(async () => {
  fixture = await consoleFixture();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

const open = (path: string) => openPage(browser, `${fixture.service.url}${path}`);

/** The last `window` rows of the slice's test CSV, and the /predict body the console should send. */
function lastRows(window: number, features: string[]) {
  const lines = readFileSync(sliceTestCsv, "utf8").trim().split("\n");
  const header = (lines[0] as string).split(",");
  const rows = lines.slice(-window);
  const data: Record<string, unknown[]> = {
    ts: rows.map((r) => (r.split(",")[0] as string).replace(" ", "T")),
  };
  for (const f of features) data[f] = rows.map((r) => Number(r.split(",")[header.indexOf(f)]));
  return { csv: [lines[0], ...rows].join("\n"), data };
}

describe("/console in headless Chromium", () => {
  it("shows the served run, the stored series, the decision's scoreboard and a forecast now", async () => {
    const { page, errors } = await open("/console");
    await page.waitForSelector("body[data-loaded=true]");
    const current = (await (await fetch(`${fixture.service.url}/models/current`)).json()) as {
      run_id: string;
      card: { window: number; features: string[]; targets: string[] };
    };
    expect(await page.$eval("#run-id", (e) => e.textContent)).toBe(current.run_id);
    expect(current.run_id).toBe(fixture.decision.pointer?.run_id);

    const bytes = new Uint8Array(await (await fetch(`${fixture.service.url}/models/series`)).arrayBuffer());
    const series = decodeSeries(bytes);
    expect(series.header.n).toBe(fixture.decision.n_test_windows);
    expect(series.header.series.map((s) => s.name)).toContain(current.run_id);
    const points = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).consoleChart.data[0]?.length,
    );
    expect(points).toBe(series.header.n);

    // Every number of the scoreboard equals the decision record's.
    const cells = await page.$$eval("#scoreboard tbody tr", (rows) =>
      rows.map((r) => ({
        run_id: (r as unknown as El).dataset.runId,
        winner: (r as unknown as El).classList.contains("winner"),
        metrics: Object.fromEntries(
          Array.from((r as unknown as El).querySelectorAll("td[data-metric]")).map((td) => [
            (td as unknown as El).dataset.metric,
            Number((td as unknown as El).dataset.value),
          ]),
        ),
      })),
    );
    const board = fixture.decision.scoreboard;
    expect(cells.map((c) => c.run_id)).toEqual(board.map((e) => e.run_id));
    expect(cells.filter((c) => c.winner).map((c) => c.run_id)).toEqual([fixture.decision.winner?.run_id]);
    const base = fixture.decision.baseline.per_target ?? {};
    for (const [i, entry] of board.entries()) {
      for (const [target, m] of Object.entries(entry.per_target ?? {})) {
        expect(cells[i]?.metrics[`${target}.mae`]).toBe(m.mae);
        expect(cells[i]?.metrics[`${target}.rmse`]).toBe(m.rmse);
        expect(cells[i]?.metrics[`${target}.ratio`]).toBe(m.rmse / (base[target]?.rmse as number));
      }
    }
    expect(cells.some((c) => Object.keys(c.metrics).length === 6)).toBe(true);

    // Forecast now: the page shows what /predict answers for the same rows.
    const { csv, data } = lastRows(current.card.window, current.card.features);
    await page.$eval(
      "#csv",
      (e, text) => {
        (e as unknown as El).value = text;
      },
      csv,
    );
    await page.click("#forecast-button");
    await page.waitForSelector("#forecast-result[data-values]");
    const shown = JSON.parse(
      (await page.$eval("#forecast-result", (e) => (e as unknown as El).dataset.values)) as string,
    );
    const answer = (await (await post(fixture.service, "/predict", { data })).json()) as {
      predictions: unknown;
    };
    expect(shown).toEqual(answer.predictions);
    expect(await page.$eval("#forecast-result", (e) => e.textContent)).toMatch(/down .+ up /);
    expect(await page.$eval("#history", (e) => e.textContent)).toContain(current.run_id);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "console.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it("says in words what is wrong: a bad CSV, an identifier without a model", async () => {
    const { page } = await open("/console");
    await page.waitForSelector("body[data-loaded=true]");
    await page.$eval("#csv", (e) => {
      (e as unknown as El).value = "time,down\n2018-01-01 00:00:00,1";
    });
    await page.click("#forecast-button");
    await page.waitForSelector("#errors p");
    expect(await page.$eval("#errors", (e) => e.textContent)).toMatch(
      /forecast now: the header lacks the model's feature\(s\): up/,
    );
    await page.close();

    const none = await open("/console?identifier=nobody-here");
    await none.page.waitForSelector("#errors p");
    expect(await none.page.$eval("#errors", (e) => e.textContent)).toMatch(
      /current model: identifier: no model is promoted for 'nobody-here'/,
    );
    await none.page.close();
  });

  it("renders /docs (Swagger UI) with every documented operation and no console errors", async () => {
    const { page, errors } = await open("/docs");
    const doc = (await (await fetch(`${fixture.service.url}/openapi.json`)).json()) as { paths: object };
    await page.waitForFunction(
      (n) => (globalThis as unknown as PageGlobals).document.querySelectorAll(".opblock").length >= n,
      {},
      Object.keys(doc.paths).length,
    );
    expect(await page.$eval(".title", (e) => e.textContent)).toMatch(/FLTS inference/);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "docs.png") });
    expect(errors).toEqual([]);
    await page.close();
  });
});

interface Operation {
  parameters?: { name: string; in: string }[];
  "x-flts-examples"?: { summary: string; query?: Record<string, string>; body?: unknown; status: number }[];
  "x-flts-path-example"?: Record<string, string>;
  responses: Record<string, unknown>;
}

describe("CONSOLE_ENABLED=0", () => {
  it("serves no /console and leaves it out of /openapi.json; /docs stays", async () => {
    const off = await startService({
      MODEL_IDENTIFIER: fixture.identifier,
      GLOBAL_FALLBACK: "0",
      KAFKA_LISTEN: "0",
      POINTER_POLL_MS: "0",
      CONSOLE_ENABLED: "0",
    });
    try {
      const page = await fetch(`${off.url}/console`);
      expect(page.status).toBe(404);
      expect(((await page.json()) as { type: string }).type).toBe("urn:flts:problem:not-found");
      expect((await fetch(`${off.url}/console/assets/console.js`)).status).toBe(404);
      const doc = (await (await fetch(`${off.url}/openapi.json`)).json()) as { paths: object };
      expect(Object.keys(doc.paths)).not.toContain("/console");
      expect(Object.keys(doc.paths)).toContain("/docs");
      expect((await fetch(`${off.url}/docs`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});

describe("/openapi.json", () => {
  it("lists every route of the service", async () => {
    const doc = (await (await fetch(`${fixture.service.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths).sort()).toEqual([...routeTable(true).keys()].sort());
  });

  it("answers each documented example with its documented status", async () => {
    const doc = (await (await fetch(`${fixture.service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    let sent = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const examples = op["x-flts-examples"] ?? [];
        expect(examples.length, `${method} ${path} has examples`).toBeGreaterThan(0);
        for (const example of examples) {
          const target = path.replace(/\{(\w+)\}/g, (_, name) => op["x-flts-path-example"]?.[name] ?? "");
          const url = `${fixture.service.url}${target}${example.query ? `?${new URLSearchParams(example.query)}` : ""}`;
          const res = await fetch(url, {
            method: method.toUpperCase(),
            ...(example.body === undefined
              ? {}
              : { headers: { "content-type": "application/json" }, body: JSON.stringify(example.body) }),
          });
          await res.arrayBuffer();
          expect(res.status, `${method} ${path}: ${example.summary}`).toBe(example.status);
          expect(Object.keys(op.responses), `${method} ${path} documents ${example.status}`).toContain(
            String(example.status),
          );
          sent++;
        }
      }
    }
    expect(sent).toBeGreaterThan(15);
  });
});
