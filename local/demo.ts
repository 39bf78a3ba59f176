/**
 * `npm run demo`: the whole pipeline on the reference data, then the inference service answering a
 * forecast for the next step after the held-out data.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { repoRoot } from "./paths.ts";
import { localServiceEnv } from "./services/env.ts";
import { delay } from "./services/processes.ts";

const dataDir = process.env.FLTS_DATA_DIR ?? resolve(repoRoot, "data");
const identifier = process.env.FLTS_DEMO_IDENTIFIER ?? "PobleSec";
const port = Number(process.env.FLTS_DEMO_PORT ?? 8787);

function say(line: string): void {
  process.stderr.write(`[demo] ${line}\n`);
}

/** Runs a tsx script, streaming its stderr, and returns its last stdout line. */
function runScript(script: string, args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("npx", ["tsx", script, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...localServiceEnv() },
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code === 0) resolvePromise(last);
      else reject(new Error(`${script} exited with ${code}: ${last}`));
    });
  });
}

/** The last `rows` rows of a CSV as the column-oriented payload of POST /predict. */
function lastRowsAsPayload(csvPath: string, rows: number): Record<string, (string | number)[]> {
  const lines = readFileSync(csvPath, "utf8").trim().split("\n");
  const header = (lines[0] ?? "").split(",");
  const data: Record<string, (string | number)[]> = {};
  for (const name of header) data[name === "time" ? "ts" : name] = [];
  for (const line of lines.slice(-rows)) {
    line.split(",").forEach((cell, i) => {
      const name = header[i] === "time" ? "ts" : (header[i] ?? "");
      data[name]?.push(name === "ts" ? `${cell.replace(" ", "T")}Z` : Number(cell));
    });
  }
  return data;
}

async function waitReady(url: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`inference service exited with ${server.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await delay(250);
  }
  throw new Error(`inference service not ready at ${url} after 120 s`);
}

/** SIGTERM to the group (the service drains and flushes its logs), then wait until all of it is gone. */
async function stopGroup(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(-pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (alive() && Date.now() < deadline) await delay(100);
  if (alive()) process.kill(-pid, "SIGKILL");
}

async function main(): Promise<void> {
  const train = join(dataDir, `${identifier}.csv`);
  if (!existsSync(train)) throw new Error(`reference data not found: ${train} (set FLTS_DATA_DIR)`);
  say(`running the pipeline on ${train}`);
  const summary = JSON.parse(
    await runScript("local/pipeline-cli.ts", ["--data", train, "--identifier", identifier]),
  );
  if (!summary.promoted) say("no model was promoted in this run; serving the current champion");

  say(`starting the inference service on 127.0.0.1:${port}`);
  // Its own process group, so stopping it also stops the node process that npx and tsx start.
  const server = spawn("npx", ["tsx", "local/serve.ts"], {
    cwd: repoRoot,
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      ...localServiceEnv(),
      PORT: String(port),
      HOST: "127.0.0.1",
      MODEL_IDENTIFIER: identifier,
    },
  });
  try {
    await waitReady(`http://127.0.0.1:${port}/readyz`, server);
    const card = (await (
      await fetch(`http://127.0.0.1:${port}/models/current?identifier=${identifier}`)
    ).json()) as {
      card?: { window?: number };
    };
    const window = card.card?.window ?? 10;
    const testCsv = join(dataDir, `${identifier}_test.csv`);
    const payload = { identifier, data: lastRowsAsPayload(existsSync(testCsv) ? testCsv : train, window) };
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    const body = await response.json();
    const ms = performance.now() - started;
    if (!response.ok) throw new Error(`POST /predict answered ${response.status}: ${JSON.stringify(body)}`);
    say(`POST /predict answered ${response.status} in ${ms.toFixed(1)} ms`);
    console.log(JSON.stringify({ pipeline: summary, forecast: body }));
  } finally {
    if (server.pid !== undefined) await stopGroup(server.pid);
  }
}

main().catch((error: unknown) => {
  console.error(`[demo] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
