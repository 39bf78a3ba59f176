/** A manifest function as the local runtime runs it: its exported Lambda handler, invoked in-process. */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { z } from "zod";
import { runHosted, type StageHost } from "../../functions/common/context.ts";
import type { FunctionSpec } from "../../functions/manifest.ts";
import { repoRoot } from "../paths.ts";
import { lambdaContext } from "./events.ts";

export interface LocalFunction {
  spec: FunctionSpec;
  /** The schema of its topic's messages (Kafka-triggered functions), else null. */
  schema: z.ZodType | null;
  /** One invocation of the handler with `event`, as Lambda makes it (a new request id each time). */
  invoke(event: unknown): Promise<unknown>;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Loads the function's module once (its cold start); every invocation is hosted by `host`. */
export async function loadFunction(spec: FunctionSpec, host: StageHost): Promise<LocalFunction> {
  // Set by the Lambda runtime in an on-demand environment; Powertools counts cold starts only there.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE ??= "on-demand";
  const mod = (await import(pathToFileURL(join(repoRoot, spec.entry)).href)) as {
    handler?: unknown;
    schema?: z.ZodType;
  };
  if (typeof mod.handler !== "function") throw new Error(`${spec.entry} does not export 'handler'`);
  if (spec.trigger.kind === "kafka" && !mod.schema) throw new Error(`${spec.entry} does not export 'schema'`);
  const handler = mod.handler as Handler;
  return {
    spec,
    schema: mod.schema ?? null,
    invoke: (event) =>
      runHosted(host, () =>
        handler(
          event,
          lambdaContext({ name: spec.name, memoryMb: spec.memoryMb, timeoutSeconds: spec.timeoutSeconds }),
        ),
      ),
  };
}
