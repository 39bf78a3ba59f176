/**
 * The bucket layout: every object key FLTS writes or reads is built and parsed by this module
 * (`keys/*.ts`); no stage, CLI or infra file writes a key template itself. Bucket names are
 * configuration (`*_BUCKET`; in AWS CloudFormation generates them). `<identifier>` and `<run_id>`
 * are `[A-Za-z0-9][A-Za-z0-9._-]*`, `<config_hash>` 64 lowercase hex, `<generation>` 16 hex.
 *
 * raw-data (keys/data.ts)
 * - `<identifier>/<file>.csv`: a series (`time` plus numeric columns), uploaded by you, `npm run
 *   pipeline` or the demo. Its creation triggers preprocess. Exactly these two parts.
 * - `<identifier>/<file>_test.csv`: optional test split, uploaded before the main file; its own event
 *   is ignored (`preprocess_ignored_test_companion`).
 * - `<identifier>/score/<file>.csv`: a series to score with the identifier's champion (`npm run score`).
 * - `<identifier>/retrain-<run_id>.csv`: the champion `<run_id>`'s training data extended with scored
 *   data that drifted (monitor, `RETRAIN_ON_DRIFT=1`; written once per champion); a series like any other.
 *
 * processed-data (keys/data.ts)
 * - `<identifier>/<config_hash>/train.parquet`, `test.parquet`: preprocess's cleaned splits, the
 *   config in the Parquet key-value metadata.
 * - `<identifier>/<config_hash>/.meta.json`: the sidecar (`ProcessedMeta`: config, raw digests,
 *   columns, row counts, the claim check), written last; its presence means the set is complete and
 *   makes a rerun skip (`skip_idempotent`).
 * - `<identifier>/score/<config_hash>/score.parquet` and its `.meta.json`: a data set to score
 *   (announced on `inference-data`).
 *
 * model-artifacts (keys/artifacts.ts)
 * - `guards/<config_hash>/<model_type>.json`, `<model_type>.attempt-<n>.json`: train-dispatch's
 *   duplicate guard of each attempt (`DispatchGuard`, conditional write); `ENSEMBLE-<generation>.json`:
 *   the one ENSEMBLE a generation gets (evaluate's ask).
 * - `runs/<run_id>/job.json`, `run.json`: the job spec and run record (train-dispatch).
 * - `runs/<run_id>/heartbeat.json`: the trainer's lease, rewritten while it runs.
 * - `runs/<run_id>/model.onnx`, `model.json`, `metrics.json`: the model (outputs `y` and `q`), its card,
 *   its test metrics per step (trainer; the Python side writes `RUN_FILES` under the job spec's
 *   `artifacts.prefix`); `validation.npz`: its predictions on the validation slice (what an ENSEMBLE weighs).
 * - `runs/<run_id>/_SUCCESS` (`{"run_id", "finished_at"}`) or `_FAILED` (`{"run_id", "model_type",
 *   "error"}`): the marker, written last by the trainer (`_FAILED` also by train-dispatch on a failed
 *   launch, the sweeper on an expired lease, the local runtime for a trainer that died). Its creation
 *   triggers train-complete.
 * - `evaluations/<identifier>/<config_hash>/runs/<run_id>.<STATUS>.json`: every status a run reached
 *   (`RunStatusRecord`, write-once; evaluate).
 * - `evaluations/<identifier>/<config_hash>/decisions/<generation>.json` (written once),
 *   `.published.json` (its done marker), `.claim-<n>.json` (the finalizer that publishes it),
 *   `.nudged.json` (the sweeper's nudge), `.ensemble.json` (evaluate's write-once ask for the ENSEMBLE), `.series.bin` (per test window: time, actual targets and
 *   each candidate's and persistence's first-step forecast; `FLTSSER1` in functions/evaluate/series.ts).
 * - `evaluations/<identifier>/<config_hash>/decision.json`, `published.json`: copies of the latest.
 *
 * model-promotion (keys/promotion.ts)
 * - `<scope>/current.json`: the pointer the service serves; scope is the identifier, or `global`
 *   (`PROMOTE_GLOBAL=1`).
 * - `<scope>/<config_hash>/current.json`: the pointer per data set.
 * - `<scope>/<config_hash>/promotion-<timestamp>.json`: history (pointer, previous pointer,
 *   scoreboard, reason; also `npm run models -- promote/rollback`).
 * - `<identifier>/drift/<run_id>-<id>.json`: monitor's drift record (`DriftEvent`, written once per
 *   scored result).
 *
 * inference-logs (keys/logs.ts)
 * - `<identifier>/<YYYYMMDD>/<HHMMSS>-<instance>-<n>.jsonl`: one line per forecast of the service.
 * - `<identifier>/<YYYYMMDD>/batch-<run_id>-<id>.parquet`: one batch-inference run's results.
 *
 * `npm run serve -- --seed` and `npm run bench` publish a fixture model the same way (runs/ and
 * `<identifier>/current.json`; local/seed-model.ts).
 */
export * from "./keys/artifacts.ts";
export * from "./keys/data.ts";
export * from "./keys/logs.ts";
export * from "./keys/promotion.ts";
export { identifierPrefix } from "./keys/segments.ts";
