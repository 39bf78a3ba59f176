/**
 * `npm run score -- --data <csv> --identifier <id> [--timeout SECONDS]`
 *
 * Scores a CSV with the identifier's champion: brings the local services up if needed, starts the
 * local runtime's preprocess and batch-inference in this process, uploads the CSV as
 * `raw-data/<identifier>/score/<file>`, reports each stage on stderr (stage logs go to `.flts/logs/`),
 * waits for the `performance-eval` message and prints one JSON summary as its LAST stdout line. On
 * failure it exits non-zero naming the stage that failed.
 */
import { runStageCli } from "./pipeline/cli-main.ts";
import { eventsFdFromEnv, reporter } from "./pipeline/events.ts";
import { parseScoreArgs, SCORE_USAGE } from "./score/options.ts";
import { runScore } from "./score/run.ts";

runStageCli("score", async ({ writeStdout, logs }) => {
  const options = parseScoreArgs(process.argv.slice(2));
  if (options === "help") {
    process.stderr.write(`${SCORE_USAGE}\n`);
    return 0;
  }
  process.stderr.write(`[score] ${options.identifier}: logs of the stages in ${logs}\n`);
  const events = reporter(Date.now(), eventsFdFromEnv());
  try {
    const { summary, exitCode } = await runScore(options, events.report);
    if (summary) writeStdout(`${JSON.stringify(summary)}\n`);
    return exitCode;
  } finally {
    await events.close();
  }
});
