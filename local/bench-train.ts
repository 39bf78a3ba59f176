/**
 * `npm run bench:train -- --data <train csv> --test <test csv> [--models GRU,LSTM,PROPHET] [--max-epochs N]`
 *
 * Trains every model type with the Python trainer (CUDA when present, CPU otherwise) on the CSV files,
 * streams the trainer's JSON log lines to stderr, and prints as its LAST stdout line one JSON object:
 * `{"models": [{"model_type", "device", "train_seconds", "epochs", "test": {...}, "persistence": {...}}]}`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "./paths.ts";
import { ensureTrainerVenv, trainerDir, venvPython } from "./python-env.ts";

interface BenchSummary {
  models: Array<{ model_type: string; device: string; train_seconds: number; epochs: number | null }>;
}

function usage(message: string): never {
  console.error(`bench:train: ${message}`);
  console.error(
    "usage: npm run bench:train -- --data <train csv> --test <test csv> [--models GRU,LSTM,PROPHET] [--max-epochs N] [--device auto|cpu|cuda] [--step-seconds S]",
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      data: { type: "string" },
      test: { type: "string" },
      models: { type: "string", default: "GRU,LSTM,PROPHET" },
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
  const args = ["-m", "flts_train", "bench", "--data", data, "--test", test, "--models", values.models ?? ""];
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
  if (!Array.isArray(summary.models)) {
    console.error("bench:train: the trainer's summary has no 'models' list");
    return 1;
  }
  for (const m of summary.models) {
    console.error(`[bench] ${m.model_type}: ${m.train_seconds}s on ${m.device}, epochs ${m.epochs}`);
  }
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
