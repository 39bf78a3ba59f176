/** evaluate's ENSEMBLE step, the pure parts: which members, when to ask, wait or decide, and the run id. */
import { describe, expect, it } from "vitest";
import { RunId } from "../../functions/common/contracts/fields.ts";
import { EnsembleRequest, TrainingDataMessage } from "../../functions/common/contracts.ts";
import { evaluationKeys, guardKeys, parseEvaluationKey, parseGuardKey } from "../../functions/common/keys.ts";
import {
  chooseMembers,
  type EnsembleAsk,
  ensembleRunId,
  ensembleStage,
  type StageInput,
} from "../../functions/evaluate/ensemble-request.ts";
import type { RunState } from "../../functions/evaluate/state.ts";

const HASH = "c".repeat(64);
const GEN = "0123456789abcdef";
const T0 = "2026-01-01T00:00:00.000Z";

function run(
  run_id: string,
  model_type: RunState["model_type"],
  status: RunState["status"],
  first_seen = T0,
): RunState {
  return {
    run_id,
    model_type,
    status,
    first_seen,
    finished_at: status === "RUNNING" ? null : T0,
    terminal: null,
  };
}

const latest = [
  run("p-gru", "GRU", "SUCCESS"),
  run("p-lstm", "LSTM", "FAILED"),
  run("p-prophet", "PROPHET", "SUCCESS"),
  run("p-linear", "LINEAR", "SUCCESS"),
  run("p-gbdt", "GBDT", "SUCCESS"),
];

describe("chooseMembers", () => {
  it("keeps the SUCCESS runs whose validation is out of sample, in expected order", () => {
    const oos = new Set(["p-gru", "p-lstm", "p-linear", "p-gbdt"]);
    expect(chooseMembers(latest, oos)).toEqual([
      { run_id: "p-gru", model_type: "GRU" },
      { run_id: "p-linear", model_type: "LINEAR" },
      { run_id: "p-gbdt", model_type: "GBDT" },
    ]);
  });

  it("never takes an ENSEMBLE, and is empty when no card says out of sample", () => {
    const withEnsemble = [...latest, run("p-ens", "ENSEMBLE", "SUCCESS")];
    expect(chooseMembers(withEnsemble, new Set(["p-ens", "p-gbdt"]))).toEqual([
      { run_id: "p-gbdt", model_type: "GBDT" },
    ]);
    expect(chooseMembers(latest, new Set())).toEqual([]);
  });
});

describe("ensembleRunId", () => {
  it("is the same for the same generation, differs across generations, and is a valid run id", () => {
    const id = ensembleRunId("PobleSec", HASH, GEN);
    expect(id).toBe(`PobleSec-ensemble-cccccccc-${GEN}`);
    expect(ensembleRunId("PobleSec", HASH, GEN)).toBe(id);
    expect(ensembleRunId("PobleSec", HASH, "fedcba9876543210")).not.toBe(id);
    const long = ensembleRunId("x".repeat(128), HASH, GEN);
    expect(long.length).toBeLessThanOrEqual(128);
    expect(RunId.safeParse(long).success).toBe(true);
  });
});

describe("ensembleStage", () => {
  const id = ensembleRunId("P", HASH, GEN);
  const ask: EnsembleAsk = {
    run_id: id,
    ensemble: {
      generation: GEN,
      members: [
        { run_id: "p-gru", model_type: "GRU" },
        { run_id: "p-gbdt", model_type: "GBDT" },
      ],
    },
    requested_at: T0,
  };
  const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000);
  const input = (over: Partial<StageInput>): StageInput => ({
    enabled: true,
    runId: id,
    runs: latest,
    ask: null,
    deadlineSeconds: 600,
    now: at(10),
    ...over,
  });

  it("decides at once with BUILD_ENSEMBLE off, whatever was asked", () => {
    expect(ensembleStage(input({ enabled: false, ask }))).toEqual({
      step: "decide",
      runId: null,
      deadlinePassed: false,
    });
  });

  it("asks when nothing was asked and no ENSEMBLE of the generation was seen", () => {
    expect(ensembleStage(input({}))).toEqual({ step: "ask", runId: id });
  });

  it("waits for an asked-for ENSEMBLE, seen or not, until the deadline", () => {
    expect(ensembleStage(input({ ask }))).toEqual({ step: "wait", runId: id, seen: false });
    const running = [...latest, run(id, "ENSEMBLE", "RUNNING", at(300).toISOString())];
    expect(ensembleStage(input({ ask, runs: running, now: at(800) }))).toEqual({
      step: "wait",
      runId: id,
      seen: true,
    });
  });

  it("decides with the ENSEMBLE once it is terminal, SUCCESS or FAILED", () => {
    for (const status of ["SUCCESS", "FAILED"] as const) {
      const runs = [...latest, run(id, "ENSEMBLE", status)];
      expect(ensembleStage(input({ ask, runs }))).toEqual({
        step: "decide",
        runId: id,
        deadlinePassed: false,
      });
    }
  });

  it("decides past the deadline, counted from its first sighting (or the ask while unseen)", () => {
    expect(ensembleStage(input({ ask, now: at(600) }))).toEqual({
      step: "decide",
      runId: id,
      deadlinePassed: true,
    });
    const running = [...latest, run(id, "ENSEMBLE", "RUNNING", at(300).toISOString())];
    expect(ensembleStage(input({ ask, runs: running, now: at(899) })).step).toBe("wait");
    expect(ensembleStage(input({ ask, runs: running, now: at(900) }))).toEqual({
      step: "decide",
      runId: id,
      deadlinePassed: true,
    });
  });

  it("ignores an ENSEMBLE of another generation", () => {
    const other = [...latest, run(ensembleRunId("P", HASH, "fedcba9876543210"), "ENSEMBLE", "SUCCESS")];
    expect(ensembleStage(input({ runs: other })).step).toBe("ask");
  });
});

describe("the ensemble claim check and its keys", () => {
  const claim = {
    bucket: "processed",
    object_key: `P/${HASH}/train.parquet`,
    test_object_key: `P/${HASH}/test.parquet`,
    config_hash: HASH,
    identifier: "P",
    v: 1,
    size: 10,
  };
  const members = [
    { run_id: "p-gru", model_type: "GRU" },
    { run_id: "p-gbdt", model_type: "GBDT" },
  ];

  it("parses with and without `ensemble`", () => {
    expect(TrainingDataMessage.parse(claim).ensemble).toBeUndefined();
    expect(TrainingDataMessage.parse({ ...claim, ensemble: { generation: GEN, members } }).ensemble).toEqual({
      generation: GEN,
      members,
    });
  });

  it("refuses one member, repeated runs, an ENSEMBLE member and a bad generation, naming the field", () => {
    const bad = [
      { generation: GEN, members: members.slice(0, 1) },
      { generation: GEN, members: [members[0], members[0]] },
      { generation: GEN, members: [...members, { run_id: "p-ens", model_type: "ENSEMBLE" }] },
      { generation: "nope", members },
    ];
    for (const ensemble of bad) {
      const out = TrainingDataMessage.safeParse({ ...claim, ensemble });
      expect(out.success, JSON.stringify(ensemble)).toBe(false);
      expect(out.error?.issues[0]?.path[0]).toBe("ensemble");
    }
    expect(EnsembleRequest.safeParse({ generation: GEN, members: Array(9).fill(members[0]) }).success).toBe(
      false,
    );
  });

  it("keys the ask beside the decision and the guard per generation", () => {
    expect(evaluationKeys.ensembleFor("P", HASH, GEN)).toBe(
      `evaluations/P/${HASH}/decisions/${GEN}.ensemble.json`,
    );
    expect(parseEvaluationKey(evaluationKeys.ensembleFor("P", HASH, GEN))?.entry).toEqual({
      kind: "ensemble",
      generation: GEN,
    });
    expect(guardKeys.ensemble(HASH, GEN)).toBe(`guards/${HASH}/ENSEMBLE-${GEN}.json`);
    // Not an attempt slot of a type: train-dispatch never retries an ENSEMBLE in a next slot.
    expect(parseGuardKey(guardKeys.ensemble(HASH, GEN))).toBeNull();
  });
});
