/**
 * `npm run demo [-- --data <csv>] [--identifier <id>] [--max-epochs N] [--port P]`: installs what the
 * local system needs, runs the whole pipeline on the reference data, leaves the inference service
 * running and asks it for a forecast. People-facing lines (a step list) go to stderr, every log to
 * `.flts/logs/`; the LAST stdout line is `{"service_url", "promoted", "forecast"}`.
 */
import { writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput } from "listr2";
import { loadDispatchSettings } from "../functions/train-dispatch/settings.ts";
import { ensembleTask, plainLines, progressOf, stageTask, step } from "./demo/follow.ts";
import { lastRowsAsPredictBody } from "./demo/forecast.ts";
import { PipelineProcess, pipelineLog, waitForStep } from "./demo/pipeline-process.ts";
import { type Forecast, forecastTable, scoreboardTable } from "./demo/tables.ts";
import { routeLogsToFiles } from "./log-files.ts";
import { logsDir, repoRoot, stateDir } from "./paths.ts";
import { parsePipelineArgs } from "./pipeline/options.ts";
import { prepareTrainerVenv } from "./python-env.ts";
import type { PipelineSummary } from "./runtime/summary.ts";
import { localServiceSettings } from "./services/env.ts";
import { up } from "./services/index.ts";
import { startInference } from "./services/inference.ts";
import { installKafka, kafkaVersion } from "./services/kafka.ts";
import { installMinio } from "./services/minio.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const writeStdout = process.stdout.write.bind(process.stdout);
routeLogsToFiles();

const { values } = parseArgs({
  options: {
    data: { type: "string", default: join(repoRoot, "data", "PobleSec.csv") },
    identifier: { type: "string" },
    "max-epochs": { type: "string" },
    port: { type: "string", default: "8787" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`--port must be a TCP port (1-65535), got '${values.port}'\n`);
  process.exit(2);
}
const pipelineArgs = [
  "--data",
  values.data,
  ...(values.identifier ? ["--identifier", values.identifier] : []),
  ...(values["max-epochs"] ? ["--max-epochs", values["max-epochs"]] : []),
];
const options = (() => {
  try {
    const parsed = parsePipelineArgs(pipelineArgs);
    if (parsed !== "help") return parsed;
  } catch (error) {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
  }
  process.exit(2);
})();

interface Ctx {
  pipeline: PipelineProcess;
  summary: PipelineSummary;
  serviceUrl: string;
  forecast: Forecast & Record<string, unknown>;
  requestFile: string;
}

const cached = (title: string, wasCached: boolean) => `${title}${wasCached ? " (cached)" : ""}`;

// The step list is for people: on stderr, so stdout's last line stays the JSON result.
const toStderr = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });

const tasks = new Listr<Ctx>(
  [
    {
      title: `Install Kafka ${kafkaVersion()}`,
      task: async (_, task) => {
        const result = await installKafka(progressOf(task));
        task.title = cached(task.title, result.cached);
      },
    },
    {
      title: "Build MinIO",
      task: async (_, task) => {
        const result = await installMinio(progressOf(task));
        task.title = cached(task.title, result.cached);
      },
    },
    {
      title: "Trainer environment (Python venv)",
      task: async (_, task) => {
        const result = await prepareTrainerVenv(progressOf(task));
        task.title = cached(task.title, result.cached);
      },
    },
    {
      title: "Start Kafka and MinIO",
      task: async (_, task) => {
        const result = await up(progressOf(task));
        if (result.alreadyRunning) task.title = `${task.title} (already running)`;
      },
    },
    {
      title: "Start the local runtime (a consumer group per function)",
      task: async (ctx) => {
        ctx.pipeline = new PipelineProcess(pipelineArgs);
        await waitForStep(ctx.pipeline, step("services"), () => {});
      },
    },
    {
      title: `Upload ${basename(options.data)}`,
      task: async (ctx, task) => {
        const uploaded = await waitForStep(
          ctx.pipeline,
          (e) => e.step === "upload" && (e.detail ?? "").endsWith(`/${basename(options.data)}`),
          () => {},
        );
        task.title = `Upload ${uploaded.detail}`;
      },
    },
    stageTask<Ctx>("Preprocess", "preprocess"),
    {
      title: "Train",
      task: (_, task) =>
        task.newListr(
          loadDispatchSettings().expected.map((modelType) => stageTask<Ctx>(modelType, "train", modelType)),
          { concurrent: true, exitOnError: false },
        ),
    },
    ensembleTask<Ctx>(),
    stageTask<Ctx>("Evaluate", "evaluate"),
    {
      title: "Promote",
      task: async (ctx, task) => {
        const show = progressOf(task);
        const promote = await waitForStep(ctx.pipeline, step("promote"), (e) => show(e.detail ?? ""));
        const exit = await ctx.pipeline.exited;
        if (exit.code !== 0 || !exit.summary)
          throw new Error(
            `the pipeline exited with code ${exit.code}:\n${ctx.pipeline.tail()}\n(log: ${pipelineLog})`,
          );
        ctx.summary = exit.summary;
        task.title =
          promote.state === "done" ? `Promote: ${promote.detail}` : `Not promoted: ${promote.detail}`;
      },
    },
    {
      title: `Serve on 127.0.0.1:${port}`,
      task: async (ctx, task) => {
        const service = await startInference(options.identifier, port);
        ctx.serviceUrl = service.url;
        task.title = `Serve ${service.url} (in the background)`;
      },
    },
    {
      title: "Forecast",
      task: async (ctx, task) => {
        const current = (await (
          await fetch(`${ctx.serviceUrl}/models/current?identifier=${options.identifier}`)
        ).json()) as { card?: { window?: number; quantiles?: number[] } };
        const source = options.testFile ?? options.data;
        const body = {
          ...lastRowsAsPredictBody(source, current.card?.window ?? 10, options.identifier),
          ...(current.card?.quantiles?.length ? { quantiles: true } : {}),
        };
        ctx.requestFile = join(stateDir, "demo-request.json");
        writeFileSync(ctx.requestFile, JSON.stringify(body));
        const started = performance.now();
        const response = await fetch(`${ctx.serviceUrl}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const answer = (await response.json()) as Forecast & Record<string, unknown>;
        if (!response.ok)
          throw new Error(`POST /predict answered ${response.status}: ${JSON.stringify(answer)}`);
        ctx.forecast = answer;
        task.title = `Forecast from the last ${current.card?.window ?? 10} rows of ${basename(source)}: ${response.status} in ${(performance.now() - started).toFixed(1)} ms`;
      },
    },
  ],
  {
    exitOnError: true,
    rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false, logger: toStderr },
    fallbackRenderer: "simple",
    fallbackRendererOptions: { timer: PRESET_TIMER, logger: toStderr },
    fallbackRendererCondition: plainLines,
  },
);

function nextSteps(ctx: Ctx): string {
  const minio = localServiceSettings();
  const rel = relative(process.cwd(), ctx.requestFile) || ctx.requestFile;
  return [
    "Where to look next:",
    `  service        ${ctx.serviceUrl}  (running in the background; logs ${join(relative(process.cwd(), logsDir) || logsDir, "inference.log")})`,
    `  forecast       curl -s -X POST ${ctx.serviceUrl}/predict -H 'content-type: application/json' -d @${rel}`,
    `  metrics        curl -s ${ctx.serviceUrl}/metrics`,
    `  console        ${ctx.serviceUrl}/console?identifier=${options.identifier}`,
    `  API            ${ctx.serviceUrl}/docs  (curl -s ${ctx.serviceUrl}/openapi.json)`,
    `  MinIO console  http://${minio.minioHost}:${minio.minioConsolePort}  (${minio.minioUser} / ${minio.minioPassword})`,
    `  logs           ${logsDir}`,
    "  status / stop  npm run local:status   npm run local:down",
  ].join("\n");
}

async function main(): Promise<number> {
  process.stderr.write(`FLTS demo: ${options.identifier} from ${options.data}; logs in ${logsDir}\n`);
  const ctx = await tasks.run().catch((error: unknown) => {
    process.stderr.write(
      `\ndemo failed: ${error instanceof Error ? error.message : String(error)}\nlogs: ${logsDir}\n`,
    );
    return null;
  });
  if (!ctx) return 1;
  const promoted = ctx.summary.promoted;
  process.stderr.write(
    [
      "",
      `Scoreboard of ${ctx.summary.identifier} on ${ctx.summary.baseline?.n_test_windows ?? "?"} test windows (* promoted; MAE and RMSE in raw units):`,
      scoreboardTable(ctx.summary.scoreboard, promoted?.run_id ?? null),
      "",
      `Forecast by ${ctx.forecast.model_type} ${ctx.forecast.run_id}:`,
      forecastTable(ctx.forecast),
      "",
      nextSteps(ctx),
      "",
    ].join("\n"),
  );
  writeStdout(
    `${JSON.stringify({
      service_url: ctx.serviceUrl,
      promoted: promoted
        ? { run_id: promoted.run_id, model_type: promoted.model_type, score: promoted.score }
        : null,
      forecast: ctx.forecast,
    })}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
