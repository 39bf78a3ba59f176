/** `npm run local:up|local:status|local:down|train:venv|test|test:py` and the Python half of `npm run check`. */
import { spawnSync } from "node:child_process";
import { repoRoot } from "./paths.ts";
import { MissingPrerequisiteError } from "./prerequisites.ts";
import { checkTrainer, ensureTrainerVenv, trainerDir, venvPython } from "./python-env.ts";
import { localServiceEnv } from "./services/env.ts";
import { down, ensureLocalServices, status, up } from "./services/index.ts";
import { stopLocalstack } from "./services/localstack.ts";
import { stopMlflow } from "./services/mlflow.ts";
import { runningPid } from "./services/processes.ts";
import { table as formatTable } from "./table.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const say = (line: string) => console.error(`[venv] ${line}`);

async function printStatus(): Promise<boolean> {
  const rows = await status();
  const header = ["service", "state", "pid", "address", "version", "health"];
  const table = [
    header,
    ...rows.map((r) => [r.service, r.state, String(r.pid ?? "-"), r.address, r.version, r.health]),
  ];
  console.log(formatTable(table));
  return rows.every((r) => r.health === "healthy" || (r.optional && r.state === "stopped"));
}

async function runPytest(): Promise<number> {
  const venv = await ensureTrainerVenv(say);
  const result = spawnSync(venvPython(venv), ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], {
    cwd: trainerDir,
    stdio: "inherit",
    env: { ...process.env, ...localServiceEnv(), PYTHONPATH: `${trainerDir}/src`, PYTHONUNBUFFERED: "1" },
  });
  return result.status ?? 1;
}

function runVitest(): number {
  const result = spawnSync("npx", ["vitest", "run"], {
    cwd: repoRoot,
    stdio: "inherit",
    env: { ...process.env, ...localServiceEnv() },
  });
  return result.status ?? 1;
}

function runFaultSuite(): number {
  const result = spawnSync("npx", ["vitest", "run", "--config", "test/faults/vitest.config.ts"], {
    cwd: repoRoot,
    stdio: "inherit",
  });
  return result.status ?? 1;
}

/**
 * Runs vitest (its unit, integration and infra projects) and pytest against services it starts if
 * needed (and stops only what it started), then the fault suite on a system of its own.
 */
async function runTests(): Promise<number> {
  const wasRunning = runningPid("kafka") !== null && runningPid("minio") !== null;
  await ensureLocalServices();
  await ensureTrainerVenv(say);
  let codes: number[];
  try {
    codes = [runVitest(), await runPytest()];
  } finally {
    if (!wasRunning) await down();
  }
  codes.push(runFaultSuite());
  return codes.find((code) => code !== 0) ?? 0;
}

async function main(): Promise<number> {
  const command = process.argv[2];
  switch (command) {
    case "up": {
      const result = await up();
      if (result.alreadyRunning) console.log("local services already running; nothing changed");
      return (await printStatus()) ? 0 : 1;
    }
    case "status":
      return (await printStatus()) ? 0 : 3;
    case "down": {
      // `--localstack-only` (`--mlflow-only`) stops LocalStack (MLflow) and leaves the rest running.
      const only = process.argv.includes("--localstack-only")
        ? { name: "localstack", stop: stopLocalstack }
        : process.argv.includes("--mlflow-only")
          ? { name: "mlflow", stop: stopMlflow }
          : null;
      const stopped = only ? ((await only.stop()) ? [only.name] : []) : await down();
      console.log(stopped.length ? `stopped: ${stopped.join(", ")}` : "nothing was running");
      return 0;
    }
    case "venv":
      console.log(await ensureTrainerVenv(say));
      return 0;
    case "pytest": {
      const wasRunning = runningPid("kafka") !== null && runningPid("minio") !== null;
      await ensureLocalServices();
      try {
        return await runPytest();
      } finally {
        if (!wasRunning) await down();
      }
    }
    case "test":
      return runTests();
    case "pycheck":
      return checkTrainer(say);
    default:
      console.error("usage: tsx local/cli.ts up|status|down|venv|test|pytest|pycheck");
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof MissingPrerequisiteError) console.error(error.message);
    else console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
