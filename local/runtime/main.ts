/**
 * The local runtime on its own, as a long-running router: `npx tsx local/runtime/main.ts
 * [--functions preprocess,evaluate] [--trainers N | --no-trainers]`. Consumes with the manifest's own
 * consumer groups (resuming where they left off) until SIGINT/SIGTERM. The functions' logs and EMF
 * metrics go to .flts/logs/<function>.log; the terminal shows one line per outcome.
 */
import { parseArgs } from "node:util";
import { routeLogsToFiles } from "../log-files.ts";
import { ensureTrainerVenv, venvPython } from "../python-env.ts";
import { ensureLocalServices } from "../services/index.ts";
import type { Outcome } from "./consumer.ts";
import type { TrainerEvent } from "./local-trainer.ts";
import { startRuntime } from "./runtime.ts";

const say = (line: string) => process.stderr.write(`${line}\n`);
const logs = routeLogsToFiles();

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      functions: { type: "string" },
      trainers: { type: "string", default: "2" },
      "no-trainers": { type: "boolean", default: false },
    },
  });
  const concurrency = Number(values.trainers);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--trainers must be a positive integer, got '${values.trainers}'`);
  await ensureLocalServices(say);
  const trainer = values["no-trainers"]
    ? null
    : { python: venvPython(await ensureTrainerVenv(say)), concurrency };
  const runtime = await startRuntime({
    functions: values.functions?.split(",").map((f) => f.trim()),
    trainer,
  });
  runtime.events.on("outcome", (o: Outcome<unknown>) =>
    say(
      o.ok
        ? `[${o.function}] ok after ${o.attempts} attempt(s)`
        : `[${o.function}] FAILED (${o.error})${o.dlq ? " → DLQ" : ""}`,
    ),
  );
  runtime.events.on("trainer", (e: TrainerEvent) => say(`[trainer] ${e.model_type} ${e.phase} ${e.run_id}`));
  say(`[runtime] running (logs in ${logs}); Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  say("[runtime] stopping");
  await runtime.stop();
}

main().then(
  () => process.exit(0),
  (error) => {
    say(`runtime failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
