/**
 * `npm run pipeline -- --data <csv> [--identifier <id>] [--max-epochs N] [--timeout SECONDS]`
 *
 * Brings the local services up if needed, starts the local runtime in this process, uploads the CSV
 * (and its `<name>_test.csv` companion, first), reports each stage on stderr (stage logs go to
 * `.flts/logs/`), waits for the promotion decision, and prints one JSON summary as its LAST stdout
 * line. On failure it exits non-zero naming the stage that failed.
 */
import { runStageCli } from "./pipeline/cli-main.ts";
import { PIPELINE_USAGE, parsePipelineArgs } from "./pipeline/options.ts";
import { runPipeline } from "./pipeline/run.ts";

runStageCli({
  name: "pipeline",
  usage: PIPELINE_USAGE,
  logsOf: "the stages and trainers",
  parse: parsePipelineArgs,
  run: runPipeline,
});
