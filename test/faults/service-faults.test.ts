/**
 * Faults of the inference service under load (loopback only, bounded request counts): its process
 * SIGKILLed and restarted, and a promotion while it serves. No 5xx may reach a valid request.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import autocannon from "autocannon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeStageContext, createStageContext, type StageContext } from "../../functions/common/context.ts";
import { ModelSelectedMessage, TOPICS } from "../../functions/common/contracts.ts";
import { publish } from "../../functions/common/kafka.ts";
import { getBytes, listKeys } from "../../functions/common/s3.ts";
import { publishFixture, unique, windowData } from "../integration/inference-harness.ts";
import { pollUntil } from "../poll.ts";
import { reportCase, suiteS3 } from "./harness.ts";

const repo = join(import.meta.dirname, "..", "..");
const s3 = suiteS3();
let ctx: StageContext;
let nextPort = 18500;

beforeAll(async () => {
  ctx = await createStageContext("faults-service");
});
afterAll(async () => {
  await closeStageContext(ctx);
});

interface Service {
  child: ChildProcess;
  url: string;
}

/** The service's container entry (`main.ts` via local/serve.ts) as a process of its own. */
async function startService(identifier: string, port: number): Promise<Service> {
  const child = spawn(process.execPath, ["--import", "tsx", "local/serve.ts"], {
    cwd: repo,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      MODEL_IDENTIFIER: identifier,
      LOG_LEVEL: "WARN",
    },
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  await pollUntil(
    "the service to be ready",
    async () => {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}`);
      return fetch(`${url}/readyz`).then(
        (r) => (r.ok ? true : null),
        () => null,
      );
    },
    { timeoutMs: 60_000 },
  );
  return { child, url };
}

function stop(service: Service, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (service.child.exitCode !== null) return resolve();
    service.child.once("exit", () => resolve());
    service.child.kill(signal);
  });
}

/** A bounded load of valid /predict requests; counts per status class and connection errors. */
function load(url: string, identifier: string, amount: number) {
  const body = JSON.stringify({ identifier, data: windowData("gru", 0) });
  return instrumented({
    url: `${url}/predict`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: 8,
    amount,
    timeout: 5,
  });
}

/** autocannon, with a promise for the moment `n` responses have arrived. */
function instrumented(options: autocannon.Options) {
  let settle: (error: Error | null, result: autocannon.Result) => void = () => {};
  const result = new Promise<autocannon.Result>((resolve, reject) => {
    settle = (error, value) => (error ? reject(error) : resolve(value));
  });
  const instance = autocannon(options, (error, value) => settle(error, value));
  let answered = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  instance.on("response", () => {
    answered++;
    for (const w of waiters.filter((w) => answered >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const after = (n: number) => new Promise<void>((resolve) => waiters.push({ n, resolve }));
  return { after, result };
}

async function loggedLines(identifier: string): Promise<number> {
  let lines = 0;
  for (const key of await listKeys(s3, ctx.config.storage.buckets.inferenceLogs, `${identifier}/`)) {
    const text = Buffer.from(await getBytes(s3, ctx.config.storage.buckets.inferenceLogs, key)).toString(
      "utf8",
    );
    lines += text.split("\n").filter((l) => l.trim()).length;
  }
  return lines;
}

describe("fault suite: the inference service", () => {
  it("SIGKILLed under load and restarted: no 5xx, the restarted service logs every answer", async () => {
    const identifier = unique("fault-svc-kill");
    await publishFixture("gru", unique("fault-gru"), identifier);
    const port = nextPort++;
    const first = await startService(identifier, port);
    const underLoad = load(first.url, identifier, 4000);
    await underLoad.after(500);
    const killed = stop(first, "SIGKILL");
    const before = await underLoad.result;
    await killed;
    const flushedByKilled = await loggedLines(identifier);
    const second = await startService(identifier, port);
    const after = await load(second.url, identifier, 2000).result;
    await stop(second, "SIGTERM");
    const logged = await pollUntil("the restarted service's log flush", async () => {
      const n = (await loggedLines(identifier)) - flushedByKilled;
      return n >= after["2xx"] ? n : null;
    });
    const lost = after["2xx"] - logged;
    reportCase(
      "inference SIGKILL under load",
      `${before["2xx"]} answered then killed (${before.errors} connection errors, ${before["5xx"]} 5xx); restarted: ${after["2xx"]} × 2xx, ${after.non2xx} other`,
      { promotions: 0, runs: 0, runsWithoutMarker: [], modelSelected: {} },
      lost,
    );
    expect(before["5xx"]).toBe(0);
    expect(after["5xx"]).toBe(0);
    expect(after.non2xx).toBe(0);
    expect(after.errors).toBe(0);
    expect(lost).toBe(0);
  });

  it("a promotion under load: every answer 2xx, answers move to the new run", async () => {
    const identifier = unique("fault-svc-promote");
    const oldRun = unique("fault-old");
    await publishFixture("gru", oldRun, identifier);
    const service = await startService(identifier, nextPort++);
    const running = load(service.url, identifier, 6000);
    await running.after(500);
    const newRun = unique("fault-new");
    const pointer = await publishFixture("lstm", newRun, identifier);
    await publish(ctx.producer, TOPICS.modelSelected, ModelSelectedMessage, {
      ...pointer,
      rmse: 1,
      mae: 1,
      mse: 1,
      scoreboard: [],
    });
    const result = await running.result;
    const answer = await pollUntil("answers from the new run", async () => {
      const response = await fetch(`${service.url}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ identifier, data: windowData("gru", 0) }),
      });
      const doc = (await response.json()) as { run_id: string };
      return doc.run_id === newRun ? doc : null;
    });
    await stop(service, "SIGTERM");
    reportCase(
      "promotion under load",
      `${result["2xx"]} × 2xx, ${result.non2xx} other, then answers from ${answer.run_id}`,
      { promotions: 1, runs: 0, runsWithoutMarker: [], modelSelected: { [newRun]: 1 } },
      0,
    );
    expect(result.non2xx).toBe(0);
    expect(result.errors).toBe(0);
  });
});
