/**
 * `npm run pipeline -- --data <csv> [--identifier <id>] [--max-epochs N] [--timeout SECONDS]`
 *
 * Brings the local services up if needed, starts the local runtime in this process, uploads the CSV
 * (and its `<name>_test.csv` companion, first), reports each stage on stderr (stage logs go to
 * `.flts/logs/`), waits for the promotion decision, and prints one JSON summary as its LAST stdout
 * line. On failure it exits non-zero naming the stage that failed.
 */
import { runStageCli } from "./pipeline/cli-main.ts";
import { eventsFdFromEnv, reporter } from "./pipeline/events.ts";
import { PIPELINE_USAGE, parsePipelineArgs } from "./pipeline/options.ts";
import { runPipeline } from "./pipeline/run.ts";

runStageCli("pipeline", async ({ writeStdout, logs }) => {
  const options = parsePipelineArgs(process.argv.slice(2));
  if (options === "help") {
    process.stderr.write(`${PIPELINE_USAGE}\n`);
    return 0;
  }
  process.stderr.write(`[pipeline] ${options.identifier}: logs of the stages and trainers in ${logs}\n`);
  const events = reporter(Date.now(), eventsFdFromEnv());
  try {
    const { summary, exitCode } = await runPipeline(options, events.report);
    if (summary) writeStdout(`${JSON.stringify(summary)}\n`);
    return exitCode;
  } finally {
    await events.close();
  }
});
