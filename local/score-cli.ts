/**
 * `npm run score -- --data <csv> --identifier <id> [--timeout SECONDS]`
 *
 * Scores a CSV with the identifier's champion: brings the local services up if needed, starts the
 * local runtime's preprocess, batch-inference and monitor in this process (with RETRAIN_ON_DRIFT=1
 * every function and trainers), uploads the CSV as `raw-data/<identifier>/score/<file>`, reports each
 * stage on stderr (stage logs go to `.flts/logs/`), waits for the `performance-eval` message and the
 * monitor's verdict (and a retraining it starts, to its decision) and prints one JSON summary as its
 * LAST stdout line. On failure it exits non-zero naming the stage that failed.
 */
import { loadMonitorSettings } from "../functions/monitor/settings.ts";
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
    { step: "monitor", title: "Monitor: drift against the ratio at promotion" },
    ...(loadMonitorSettings(process.env).retrainOnDrift
      ? ([
          { step: "train", title: "Retrain on drift (RETRAIN_ON_DRIFT=1)" },
          { step: "evaluate", title: "Evaluate the retrained candidates" },
          { step: "promote", title: "Promotion decision" },
        ] as const)
      : []),
  ],
});
