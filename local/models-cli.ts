/**
 * `npm run models -- list|show|history|promote|rollback`: model operations over the buckets and
 * `model-selected`. A table on a terminal; `--json` prints one JSON document for scripts. Bad input
 * exits 2 with a message naming the problem, having written nothing.
 */
import { loadCommonConfig } from "../functions/common/config.ts";
import { closeStageContext, createStageContext } from "../functions/common/context.ts";
import { createLogger } from "../functions/common/log.ts";
import { createS3Client } from "../functions/common/s3.ts";
import { MODELS_USAGE, type ModelsCommand, parseModelsArgs, UsageError } from "./models/args.ts";
import { describeRun, listRuns, type RunInfo } from "./models/catalog.ts";
import { readHistory } from "./models/history.ts";
import { type OperationResult, promoteRun, RefusedError, rollback } from "./models/operations.ts";
import { num, table } from "./models/table.ts";
import { applyLocalServiceEnv } from "./services/env.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

function runRows(runs: RunInfo[]): string {
  return table(
    ["run_id", "identifier", "type", "state", "champion", "score", "mae", "rmse", "created_at"],
    runs.map((r) => [
      r.run_id,
      r.card.identifier,
      r.card.model_type,
      r.scored?.status ?? r.state,
      r.champion_of.join(",") || "-",
      num(r.scored?.score),
      num(r.scored?.mae),
      num(r.scored?.rmse),
      r.card.created_at,
    ]),
  );
}

function operationText(r: OperationResult): string {
  return `${r.action}: '${r.identifier}' now serves ${r.run_id} (was ${r.previous_run_id ?? "none"}); history ${r.history_key}`;
}

type Print = (json: unknown, text: string) => unknown;

/** list, show and history only read S3 (no Kafka connection). */
async function read(command: Exclude<ModelsCommand, { verb: "promote" | "rollback" }>, out: Print) {
  const config = loadCommonConfig();
  const s3 = createS3Client(config.storage);
  const buckets = config.storage.buckets;
  try {
    switch (command.verb) {
      case "list": {
        const runs = await listRuns(s3, buckets, command.identifier);
        return out(runs, runs.length ? runRows(runs) : "no runs");
      }
      case "show": {
        const run = await describeRun(s3, buckets, command.run_id);
        if (!run) throw new RefusedError(`run ${command.run_id}: no model card (unknown run)`);
        const card = run.card;
        return out(
          run,
          `${runRows([run])}\n\nfeatures ${card.features.join(", ")}; targets ${card.targets.join(", ")}; window ${card.window}; horizon ${card.horizon}; config ${card.config_hash}`,
        );
      }
      case "history": {
        const items = await readHistory(s3, buckets.promotion, command.identifier);
        return out(
          items,
          table(
            ["promoted_at", "run_id", "type", "previous", "reason"],
            items.map(({ entry }) => [
              entry.pointer.promoted_at,
              entry.pointer.run_id,
              entry.pointer.model_type,
              entry.previous?.run_id ?? "-",
              entry.reason,
            ]),
          ),
        );
      }
    }
  } finally {
    s3.destroy();
  }
}

/** promote and rollback write the pointers and history, then publish model-selected. */
async function write(command: Extract<ModelsCommand, { verb: "promote" | "rollback" }>, out: Print) {
  const logger = createLogger("flts-models-cli");
  logger.setLogLevel("ERROR");
  const ctx = await createStageContext("models-cli", process.env, logger);
  const ops = { s3: ctx.s3, producer: ctx.producer, buckets: ctx.config.storage.buckets };
  try {
    const result =
      command.verb === "promote"
        ? await promoteRun(ops, command.run_id, command.identifier, command.reason)
        : await rollback(ops, command.identifier, command.reason);
    return out(result, operationText(result));
  } finally {
    await closeStageContext(ctx);
  }
}

function execute(command: ModelsCommand): Promise<unknown> {
  const out: Print = (json, text) => {
    process.stdout.write(`${command.json ? JSON.stringify(json, null, 2) : text}\n`);
    return json;
  };
  return command.verb === "promote" || command.verb === "rollback" ? write(command, out) : read(command, out);
}

async function main(): Promise<number> {
  try {
    const command = parseModelsArgs(process.argv.slice(2));
    if (command === "help") {
      process.stderr.write(`${MODELS_USAGE}\n`);
      return 0;
    }
    applyLocalServiceEnv();
    await execute(command);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof RefusedError) {
      process.stderr.write(`models: ${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write(`${MODELS_USAGE}\n`);
      return 2;
    }
    process.stderr.write(`models: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code));
