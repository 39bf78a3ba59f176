/**
 * `npm run models` against real MinIO and Kafka: list/show, manual promotions, refusals that write
 * nothing, and a rollback under load on a service that hears `model-selected` (zero non-2xx, answers
 * move back to the previous champion).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCommonConfig } from "../../functions/common/config.ts";
import { PromotionPointer } from "../../functions/common/contracts.ts";
import { promotionKeys } from "../../functions/common/keys.ts";
import { getJson, listKeys, putBytes } from "../../functions/common/s3.ts";
import type { InferenceService } from "../../functions/inference/service.ts";
import type { HistoryItem } from "../../local/models/history.ts";
import type { OperationResult } from "../../local/models/operations.ts";
import { runCli } from "../cli-process.ts";
import { pollUntil } from "../poll.ts";
import {
  post,
  publishFixture,
  s3,
  startService,
  unique,
  waitReady,
  windowData,
} from "./inference-harness.ts";

const identifier = unique("ops");
const other = unique("ops-other");
const runA = `${identifier}-gru-a`;
const runB = `${identifier}-lstm-b`;
const failed = `${identifier}-gru-failed`;
const foreign = `${other}-gru`;
const buckets = loadCommonConfig().storage.buckets;
const client = s3();
let service: InferenceService | undefined;

const models = (...args: string[]) => runCli("local/models-cli.ts", args, { timeoutMs: 120_000 });
const promotionListing = () => listKeys(client, buckets.promotion, `${identifier}/`);
const current = () => getJson(client, buckets.promotion, promotionKeys.current(identifier), PromotionPointer);

beforeAll(async () => {
  await publishFixture("gru", runA, identifier, false);
  await publishFixture("lstm", runB, identifier, false);
  await publishFixture("gru", failed, identifier, false);
  await putBytes(client, buckets.artifacts, `runs/${failed}/_FAILED`, new Uint8Array());
  await publishFixture("gru", foreign, other, false);
});
afterAll(async () => {
  await service?.stop();
  client.destroy();
});

describe("npm run models", () => {
  it("promotes a run by hand: pointers, a history entry with the reason, exit 0", async () => {
    const run = await models("promote", runA, "--identifier", identifier, "--reason", "first", "--json");
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as OperationResult;
    expect(result).toMatchObject({ action: "promote", run_id: runA, previous_run_id: null });
    expect(result.reason).toBe("manual promotion: first");
    expect((await current()).run_id).toBe(runA);
    expect(await promotionListing()).toContain(result.history_key);
  });

  it.each([
    ["an unknown run", `${identifier}-nope`, identifier, /unknown run/],
    ["a run of another identifier", foreign, identifier, new RegExp(`identifier '${other}'`)],
    ["a FAILED run", failed, identifier, /FAILED/],
  ])("refuses %s with a clear message and writes nothing", async (_, runId, id, message) => {
    const before = await promotionListing();
    const run = await models("promote", runId, "--identifier", id);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(await promotionListing()).toEqual(before);
    expect((await current()).run_id).toBe(runA);
  });

  it("refuses a malformed identifier naming the field", async () => {
    const run = await models("rollback", "--identifier", "../etc");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/identifier: /);
  });

  it("lists the identifier's runs with the champion marked, and shows one", async () => {
    const list = await models("list", "--identifier", identifier, "--json");
    expect(list.code, list.stderr).toBe(0);
    const runs = JSON.parse(list.stdout) as { run_id: string; state: string; champion_of: string[] }[];
    expect(runs.map((r) => r.run_id).sort()).toEqual([failed, runA, runB].sort());
    expect(runs.find((r) => r.run_id === runA)?.champion_of).toEqual([identifier]);
    expect(runs.find((r) => r.run_id === failed)?.state).toBe("FAILED");
    const table = await models("list", "--identifier", identifier);
    expect(table.stdout).toMatch(new RegExp(`${runA}\\s+${identifier}\\s+GRU`));
    const show = await models("show", runB, "--json");
    expect(JSON.parse(show.stdout).card.model_type).toBe("LSTM");
  });

  it("promotes a second run, then rolls back under load: zero non-2xx, answers move to the old run", async () => {
    service = await startService({
      MODEL_IDENTIFIER: identifier,
      GLOBAL_FALLBACK: "0",
      KAFKA_LISTEN: "1",
      POINTER_POLL_MS: "0",
    });
    await waitReady(service);
    const served = service;
    // The listener reads the topic from the start and skips only what predates the service.
    const promoted = await models("promote", runB, "--identifier", identifier, "--reason", "second");
    expect(promoted.code, promoted.stderr).toBe(0);
    const runOf = async () =>
      ((await (await fetch(`${served.url}/models/current`)).json()) as { run_id: string }).run_id;
    await pollUntil("the service serves B", async () => (await runOf()) === runB);

    const statuses: number[] = [];
    const answered: string[] = [];
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        const res = await post(served, "/predict", { data: windowData("gru", 0) });
        statuses.push(res.status);
        answered.push(((await res.json()) as { run_id?: string }).run_id ?? "");
      }
    });
    const back = await models("rollback", "--identifier", identifier, "--json");
    const exited = Date.now();
    expect(back.code, back.stderr).toBe(0);
    await pollUntil("the service serves A again", async () => (await runOf()) === runA);
    const swapMs = Date.now() - exited;
    await pollUntil("answers from A", () => answered.at(-1) === runA);
    running = false;
    await Promise.all(loops);
    process.stderr.write(
      `[models-cli test] rollback visible on /models/current ${swapMs} ms after the CLI exited\n`,
    );

    expect(statuses.filter((s) => s < 200 || s > 299)).toEqual([]);
    expect(answered).toContain(runB);
    expect(answered.at(-1)).toBe(runA);
    expect(JSON.parse(back.stdout)).toMatchObject({
      action: "rollback",
      run_id: runA,
      previous_run_id: runB,
    });

    const history = await models("history", "--identifier", identifier, "--json");
    const items = JSON.parse(history.stdout) as HistoryItem[];
    expect(items.map((i) => i.entry.pointer.run_id)).toEqual([runA, runB, runA]);
    expect(items.at(-1)?.entry.reason).toBe(`rollback from ${runB} to ${runA}`);
    expect(items.at(-1)?.entry.pointer.promoted_by).toBe("rollback");
  });
});
