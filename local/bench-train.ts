/**
 * `npm run bench:train -- --data <train csv> --test <test csv> [--models GRU,LSTM,PROPHET,LINEAR,GBDT] [--horizon 30]
 *  [--max-epochs N]`
 *
 * Trains each model type with the Python trainer (CUDA when present, CPU otherwise) on the CSV files (ENSEMBLE, listed
 * last, combines the types before it), streams the trainer's JSON log lines to stderr, then a table per model type and
 * target: MAE and RMSE ratio to persistence and the outermost quantiles' interval coverage at steps 1, 5, 15 and 30
 * (those within the horizon), and train seconds. Its LAST stdout line is one JSON object:
 * `{"horizon", "report_steps", "models": [{"model_type", "device", "train_seconds", "epochs", "test", "persistence",
 * "quantiles", "steps": {target: {"h1": {"mae_ratio", "rmse_ratio", "coverage"}}}}]}`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "./paths.ts";
import { ensureTrainerVenv, trainerDir, venvPython } from "./python-env.ts";

interface StepFigures {
  mae_ratio: number;
  rmse_ratio: number;
  coverage: number | null;
}
interface BenchModel {
  model_type: string;
  device: string;
  train_seconds: number;
  epochs: number | null;
  steps: Record<string, Record<string, StepFigures>>;
}
interface BenchSummary {
  report_steps: number[];
  models: BenchModel[];
}

const DEFAULT_MODELS = "GRU,LSTM,PROPHET,LINEAR,GBDT";

/** One row per model type and target: ratios and coverage at each report step. */
function table(summary: BenchSummary): string {
  const fixed = (v: number | null) => (v === null ? "-" : v.toFixed(3));
  const head = ["model", "target", "train s"];
  for (const h of summary.report_steps) head.push(`mae h${h}`, `rmse h${h}`, `cov h${h}`);
  const rows = [head];
  for (const m of summary.models)
    for (const [target, steps] of Object.entries(m.steps)) {
      const row = [m.model_type, target, m.train_seconds.toFixed(1)];
      for (const h of summary.report_steps) {
        const f = steps[`h${h}`];
        row.push(fixed(f?.mae_ratio ?? null), fixed(f?.rmse_ratio ?? null), fixed(f?.coverage ?? null));
      }
      rows.push(row);
    }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i] ?? 0)).join("  ")).join("\n");
}

function usage(message: string): never {
  console.error(`bench:train: ${message}`);
  console.error(
    `usage: npm run bench:train -- --data <train csv> --test <test csv> [--models ${DEFAULT_MODELS}[,ENSEMBLE]] [--horizon 30] [--max-epochs N] [--device auto|cpu|cuda] [--step-seconds S]`,
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      data: { type: "string" },
      test: { type: "string" },
      models: { type: "string", default: DEFAULT_MODELS },
      horizon: { type: "string", default: "30" },
      "max-epochs": { type: "string" },
      device: { type: "string", default: "auto" },
      seed: { type: "string" },
      "step-seconds": { type: "string" },
    },
    strict: true,
  });
  if (!values.data || !values.test) usage("--data and --test are required");
  const data = resolve(values.data);
  const test = resolve(values.test);
  for (const file of [data, test]) if (!existsSync(file)) usage(`no such file: ${file}`);

  const venv = await ensureTrainerVenv((line) => console.error(`[venv] ${line}`));
  const horizon = values.horizon ?? "30";
  if (!/^[1-9][0-9]*$/.test(horizon)) usage(`--horizon must be a positive integer, got ${horizon}`);
  const args = ["-m", "flts_train", "bench", "--data", data, "--test", test, "--models", values.models ?? ""];
  args.push("--horizon", horizon);
  if (values["max-epochs"]) args.push("--max-epochs", values["max-epochs"]);
  if (values.device) args.push("--device", values.device);
  if (values.seed) args.push("--seed", values.seed);
  if (values["step-seconds"]) args.push("--step-seconds", values["step-seconds"]);

  const child = spawn(venvPython(venv), args, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, PYTHONPATH: join(trainerDir, "src"), PYTHONUNBUFFERED: "1" },
  });
  let stdout = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    stdout += chunk;
  });
  const code: number = await new Promise((done) => child.on("close", (c) => done(c ?? 1)));
  if (code !== 0) {
    console.error(`bench:train: trainer exited with code ${code}`);
    return code;
  }
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  const last = lines.at(-1);
  if (!last) {
    console.error("bench:train: the trainer printed no summary");
    return 1;
  }
  const summary = JSON.parse(last) as BenchSummary;
  if (!Array.isArray(summary.models) || !Array.isArray(summary.report_steps)) {
    console.error("bench:train: the trainer's summary has no 'models' or 'report_steps' list");
    return 1;
  }
  for (const m of summary.models) {
    console.error(`[bench] ${m.model_type}: ${m.train_seconds}s on ${m.device}, epochs ${m.epochs}`);
  }
  console.error(
    `[bench] ratio to persistence (MAE, RMSE) and the outermost quantiles' interval coverage per step:\n${table(summary)}`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
