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
import { parseScoreArgs, SCORE_USAGE } from "./score/options.ts";
import { runScore } from "./score/run.ts";

runStageCli({
  name: "score",
  usage: SCORE_USAGE,
  logsOf: "the stages",
  parse: parseScoreArgs,
  run: runScore,
  steps: [
    { step: "services", title: "Kafka, MinIO and the local runtime" },
    { step: "upload", title: "Upload" },
    { step: "preprocess", title: "Preprocess with the champion's configuration" },
    { step: "score", title: "Score (batch-inference)" },
  ],
});
