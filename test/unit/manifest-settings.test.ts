/**
 * The manifest's settings against the code: each function's (and the service's) loader, run on an
 * environment that records what is read, reads exactly the settings the manifest declares for it
 * besides the common ones, and reads them once per environment object; and no source file of a
 * function reads the environment past its loader. No services needed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBatchSettings } from "../../functions/batch-inference/settings.ts";
import { COMMON_SETTINGS, loadCommonConfig } from "../../functions/common/config.ts";
import { type Env, settingNames } from "../../functions/common/settings.ts";
import { loadEvaluateSettings } from "../../functions/evaluate/settings.ts";
import { loadInferenceConfig } from "../../functions/inference/config.ts";
import { FUNCTIONS, SERVICE } from "../../functions/manifest.ts";
import { loadMonitorSettings } from "../../functions/monitor/settings.ts";
import { loadPreprocessSettings } from "../../functions/preprocess/settings.ts";
import { loadSweepSettings } from "../../functions/sweeper/settings.ts";
import { loadDispatchSettings } from "../../functions/train-dispatch/settings.ts";

const root = new URL("../..", import.meta.url).pathname;

/** Each manifest function's loader: what its handler calls for its settings. */
const LOADERS: Record<string, (env: Env) => unknown> = {
  preprocess: loadPreprocessSettings,
  "train-dispatch": loadDispatchSettings,
  "train-complete": () => undefined,
  evaluate: loadEvaluateSettings,
  "batch-inference": loadBatchSettings,
  monitor: loadMonitorSettings,
  sweeper: loadSweepSettings,
};

/** An empty environment that records every variable asked for. */
function recordingEnv(): { env: Env; reads: Set<string> } {
  const reads = new Set<string>();
  const env = new Proxy({} as Env, {
    get(_target, key) {
      if (typeof key === "string") reads.add(key);
      return undefined;
    },
  });
  return { env, reads };
}

const common = new Set(settingNames(COMMON_SETTINGS));
const sorted = (names: Iterable<string>) => [...names].sort();

/** What `load` reads besides the common settings, and what a second load with the same env reads. */
function readsOf(load: (env: Env) => unknown): { first: string[]; again: string[] } {
  const { env, reads } = recordingEnv();
  load(env);
  const first = sorted([...reads].filter((n) => !common.has(n)));
  reads.clear();
  load(env);
  return { first, again: sorted(reads) };
}

/** Environment reads written in a file: `env.X`, `process.env.X`, `env[...]` (declared tables only go through `loadSettings`). */
const DIRECT_READ = /\b(?:process\.)?env\??\.\s*([A-Z][A-Z0-9_]*)|\benv\s*\[/g;
/** Read by the Powertools libraries themselves; the common code passes them on (functions/common/log.ts, lambda.ts). */
const POWERTOOLS = new Set(["LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_SERVICE_NAME"]);

function directReads(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    for (const m of readFileSync(file, "utf8").matchAll(DIRECT_READ)) {
      if (m[1] && POWERTOOLS.has(m[1])) continue;
      found.push(`${file.slice(root.length)}: ${m[0]}`);
    }
  }
  return found;
}

describe("the recording environment", () => {
  it("sees a read that no declaration covers", () => {
    const { first } = readsOf((env) => [env.NOT_DECLARED, loadMonitorSettings(env)]);
    expect(first).toEqual(["DRIFT_RATIO_THRESHOLD", "NOT_DECLARED", "RETRAIN_ON_DRIFT"].sort());
  });

  it("the direct-read scan finds env.X, process.env.X and env[...]", () => {
    const text =
      "a = process.env.FOO; b = env.BAR; c = ctx.env?.BAZ; d = env[name]; e = f(env); g = env.LOG_LEVEL";
    const hits = [...text.matchAll(DIRECT_READ)].filter((m) => !(m[1] && POWERTOOLS.has(m[1])));
    expect(hits.map((m) => m[1] ?? "[]")).toEqual(["FOO", "BAR", "BAZ", "[]"]);
  });
});

describe("every manifest function", () => {
  it("has a loader here", () => {
    expect(sorted(Object.keys(LOADERS))).toEqual(sorted(FUNCTIONS.map((f) => f.name)));
  });

  for (const spec of FUNCTIONS) {
    describe(spec.name, () => {
      it("its loader reads exactly the settings the manifest declares, once per environment", () => {
        const load = LOADERS[spec.name];
        expect(load, `no loader for ${spec.name}`).toBeDefined();
        const { first, again } = readsOf(load as (env: Env) => unknown);
        expect(first, "read but undeclared, or declared but unread").toEqual(
          sorted(settingNames(spec.settings)),
        );
        expect(again, "a second load with the same environment reads it again").toEqual([]);
      });

      it("its source reads the environment only through its loader", () => {
        expect(directReads(dirname(spec.entry))).toEqual([]);
      });
    });
  }

  it("the schedule's local interval is one of the function's settings", () => {
    for (const spec of FUNCTIONS) {
      if (spec.trigger.kind === "schedule")
        expect(Object.keys(spec.settings)).toContain(spec.trigger.localInterval.setting);
    }
  });
});

describe("the service", () => {
  it("its config reads exactly the common settings and the ones SERVICE declares, once per environment", () => {
    const { env, reads } = recordingEnv();
    loadInferenceConfig(env);
    expect(sorted(reads)).toEqual(sorted([...common, ...settingNames(SERVICE.settings)]));
    reads.clear();
    loadInferenceConfig(env);
    expect(sorted(reads)).toEqual([]);
  });

  it("its source reads the environment only through its config", () => {
    expect(directReads(dirname(SERVICE.entry))).toEqual([]);
  });

  it("the common config reads exactly COMMON_SETTINGS", () => {
    const { env, reads } = recordingEnv();
    loadCommonConfig(env);
    expect(sorted(reads)).toEqual(sorted(common));
  });
});
