/** evaluate's pure core: the scoreboard of a generation, the promotion policy, and the decision record. */
import { describe, expect, it } from "vitest";
import type { ModelType, PromotionPolicy, ScoreboardEntry } from "../../functions/common/contracts.ts";
import { applyPolicy, type PolicyInput } from "../../functions/evaluate/policy.ts";
import { buildDecisionRecord, type RecordInput } from "../../functions/evaluate/record.ts";
import {
  buildScoreboard,
  failedEntry,
  type RankedCandidate,
  type ScoredRun,
} from "../../functions/evaluate/scoreboard.ts";
import { pickWinner } from "../../functions/evaluate/scoring.ts";
import { generationOf, type RunState } from "../../functions/evaluate/state.ts";

const HASH = "a".repeat(64);

function row(
  run_id: string,
  score: number | null,
  kind: ScoreboardEntry["kind"] = "candidate",
  status: ScoreboardEntry["status"] = "SCORED",
): ScoreboardEntry {
  const m = score === null ? null : score;
  return {
    run_id,
    model_type: kind === "baseline" ? "PERSISTENCE" : "GRU",
    kind,
    status,
    score,
    rmse: m,
    mae: m,
    mse: m,
  };
}

const baseline = row("persistence", 1, "baseline");

function candidate(run_id: string, score: number, created_at = "2026-01-01T00:00:00.000Z"): RankedCandidate {
  return { run_id, model_type: "GRU", score, created_at, entry: row(run_id, score) };
}

function policy(overrides: Partial<PolicyInput>): ReturnType<typeof applyPolicy> {
  return applyPolicy({
    policy: "beat_baseline_and_champion",
    best: candidate("new", 0.5),
    baseline,
    champion: null,
    previous: null,
    ...overrides,
  });
}

describe("applyPolicy", () => {
  it("promotes nothing when no candidate could be scored, whatever the policy", () => {
    for (const p of ["beat_baseline_and_champion", "beat_baseline", "always"] as const)
      expect(policy({ policy: p, best: null })).toEqual({
        promote: false,
        reason: "no candidate could be scored",
      });
  });

  it("without a champion, promotes the best candidate that beats the baseline", () => {
    expect(policy({})).toEqual({
      promote: true,
      reason: "GRU new wins with score 0.500000 (baseline 1.000000; policy beat_baseline_and_champion)",
    });
  });

  it("promotes a challenger scoring below the champion on the same windows, naming both scores", () => {
    const outcome = policy({ champion: row("old", 0.6, "champion"), previous: { run_id: "old" } });
    expect(outcome).toEqual({
      promote: true,
      reason:
        "GRU new wins with score 0.500000 (baseline 1.000000, champion 0.600000; policy beat_baseline_and_champion)",
    });
  });

  it("keeps the champion when the challenger is worse, or only equal", () => {
    for (const championScore of [0.4, 0.5]) {
      expect(
        policy({ champion: row("old", championScore, "champion"), previous: { run_id: "old" } }),
      ).toEqual({
        promote: false,
        reason: `best candidate new (score 0.500000) does not beat the current champion old (${championScore.toFixed(6)})`,
      });
    }
  });

  it("beat_baseline and always do not compare with the champion", () => {
    const champion = row("old", 0.1, "champion");
    expect(policy({ policy: "beat_baseline", champion, previous: { run_id: "old" } }).promote).toBe(true);
    expect(policy({ policy: "always", champion, previous: { run_id: "old" } }).promote).toBe(true);
  });

  it("a champion that could not be scored does not hold a challenger back", () => {
    const champion = failedEntry({ run_id: "old", model_type: "GRU", kind: "champion" }, "FAILED", "gone");
    const outcome = policy({ champion, previous: { run_id: "old" } });
    expect(outcome).toEqual({
      promote: true,
      reason: "GRU new wins with score 0.500000 (baseline 1.000000; policy beat_baseline_and_champion)",
    });
  });

  it("declines a best candidate that does not beat the persistence baseline (worse or tied)", () => {
    for (const p of ["beat_baseline_and_champion", "beat_baseline"] as const) {
      for (const score of [1, 1.5]) {
        expect(policy({ policy: p, best: candidate("new", score) })).toEqual({
          promote: false,
          reason: `best candidate new (score ${score.toFixed(6)}) does not beat the persistence baseline (1.000000)`,
        });
      }
    }
  });

  it("always promotes a candidate that loses to the baseline", () => {
    const outcome = policy({ policy: "always", best: candidate("new", 2) });
    expect(outcome).toEqual({
      promote: true,
      reason:
        "GRU new wins with score 2.000000 (baseline 1.000000; policy always: baseline and quality gate bypassed)",
    });
  });

  it("a non-finite baseline is never beaten", () => {
    expect(policy({ baseline: row("persistence", Number.NaN, "baseline") }).promote).toBe(false);
  });

  it("is idempotent: the run the pointer already names is not promoted again, even under always", () => {
    for (const p of ["beat_baseline_and_champion", "beat_baseline", "always"] as const)
      expect(policy({ policy: p, previous: { run_id: "new" } })).toEqual({
        promote: false,
        reason: "GRU new is already the current champion (score 0.500000)",
      });
  });
});

function run(
  run_id: string,
  model_type: ModelType,
  status: RunState["status"],
  first_seen: string,
  error: string | null = null,
): RunState {
  const terminal =
    status === "RUNNING"
      ? null
      : {
          operation: "train",
          status,
          run_id,
          model_type,
          config_hash: HASH,
          identifier: "cell",
          artifact_uri: `s3://artifacts/runs/${run_id}/`,
          metrics: null,
          error,
        };
  return { run_id, model_type, status, first_seen, finished_at: terminal ? first_seen : null, terminal };
}

const t = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, "0")}:00.000Z`;

describe("buildScoreboard", () => {
  const runs = [
    run("lstm-2", "LSTM", "FAILED", t(5), "out of memory"),
    run("gru-1", "GRU", "SUCCESS", t(1)),
    run("lstm-1", "LSTM", "FAILED", t(2), "superseded"),
  ];
  const scored = new Map<string, ScoredRun>([["gru-1", { entry: row("gru-1", 0.5), created_at: t(1) }]]);
  const input = {
    expected: ["GRU", "LSTM", "PROPHET"] as ModelType[],
    runs,
    latest: new Set(["gru-1", "lstm-2"]),
    scored,
    baseline,
    champion: null,
  };

  it("lists runs as first seen, drops superseded failures, reports missing types, then baseline and champion", () => {
    const champion = row("old", 0.7, "champion");
    const { rows } = buildScoreboard({ ...input, champion });
    expect(rows.map((r) => [r.run_id, r.model_type, r.status, r.error])).toEqual([
      ["gru-1", "GRU", "SCORED", undefined],
      ["lstm-2", "LSTM", "FAILED", "out of memory"],
      ["-", "PROPHET", "MISSING", "no run reported"],
      ["persistence", "PERSISTENCE", "SCORED", undefined],
      ["old", "GRU", "SCORED", undefined],
    ]);
  });

  it("reports the latest run still running at the deadline as MISSING", () => {
    const withRunning = [...runs, run("prophet-1", "PROPHET", "RUNNING", t(3))];
    const { rows } = buildScoreboard({
      ...input,
      runs: withRunning,
      latest: new Set([...input.latest, "prophet-1"]),
    });
    expect(rows.find((r) => r.run_id === "prophet-1")).toMatchObject({
      status: "MISSING",
      score: null,
      error: "still running at the deadline",
    });
  });

  it("ranks only scored candidates with a finite score: refused, failed and NaN rows never win", () => {
    const many = [
      run("refused", "GRU", "SUCCESS", t(1)),
      run("nan", "LSTM", "SUCCESS", t(2)),
      run("broken", "PROPHET", "SUCCESS", t(3)),
      run("ok", "GRU", "SUCCESS", t(4)),
    ];
    const entries: [string, ScoreboardEntry][] = [
      ["refused", failedEntry({ run_id: "refused", model_type: "GRU", kind: "candidate" }, "REFUSED", "Inf")],
      ["nan", row("nan", Number.NaN)],
      ["broken", failedEntry({ run_id: "broken", model_type: "PROPHET", kind: "candidate" }, "FAILED", "x")],
      ["ok", row("ok", 0.9)],
    ];
    const board = buildScoreboard({
      ...input,
      runs: many,
      latest: new Set(["ok", "nan", "broken"]),
      scored: new Map(entries.map(([id, entry]) => [id, { entry, created_at: t(0) }])),
    });
    expect(board.rows.filter((r) => r.kind === "candidate").map((r) => r.run_id)).toEqual([
      "refused",
      "nan",
      "broken",
      "ok",
    ]);
    expect(board.ranked.map((r) => r.run_id)).toEqual(["ok"]);
    expect(pickWinner(board.ranked)?.run_id).toBe("ok");
  });

  it("with every candidate refused there is no winner, so nothing is promoted", () => {
    const board = buildScoreboard({
      ...input,
      scored: new Map([
        [
          "gru-1",
          {
            entry: failedEntry({ run_id: "gru-1", model_type: "GRU", kind: "candidate" }, "REFUSED", "NaN"),
            created_at: t(1),
          },
        ],
      ]),
    });
    expect(board.ranked).toEqual([]);
    expect(policy({ best: pickWinner(board.ranked) }).promote).toBe(false);
  });

  it("a tie between candidates goes to the newer model, which the policy then judges", () => {
    const tied = [run("older", "GRU", "SUCCESS", t(1)), run("newer", "LSTM", "SUCCESS", t(2))];
    const board = buildScoreboard({
      ...input,
      runs: tied,
      latest: new Set(["older", "newer"]),
      scored: new Map([
        ["older", { entry: row("older", 0.5), created_at: t(1) }],
        ["newer", { entry: row("newer", 0.5), created_at: t(2) }],
      ]),
    });
    const best = pickWinner(board.ranked);
    expect(best?.run_id).toBe("newer");
    expect(policy({ best, previous: { run_id: "newer" } }).promote).toBe(false);
  });
});

describe("buildDecisionRecord", () => {
  const best = candidate("gru-1", 0.5);
  const base = (promote: boolean, p: PromotionPolicy = "beat_baseline"): RecordInput => ({
    identifier: "cell",
    configHash: HASH,
    generation: generationOf(["lstm-1", "gru-1"]),
    runIds: ["lstm-1", "gru-1"],
    decidedAt: "2026-01-31T12:00:00.000Z",
    policy: p,
    expected: ["GRU", "LSTM"],
    deadlinePassed: false,
    nTestWindows: 7,
    scoreboard: [best.entry, baseline],
    baseline,
    best,
    outcome: { promote, reason: "because" },
    previous: null,
    artifactsBucket: "artifacts",
  });

  it("a promotion carries the pointer to the winner's model and card, and a history key", () => {
    const d = buildDecisionRecord(base(true));
    expect(d).toMatchObject({
      generation: generationOf(["gru-1", "lstm-1"]),
      runs: ["gru-1", "lstm-1"],
      promoted: true,
      reason: "because",
      winner: { run_id: "gru-1", model_type: "GRU", score: 0.5 },
      pointer: {
        model_uri: "s3://artifacts/runs/gru-1/model.onnx",
        card_uri: "s3://artifacts/runs/gru-1/model.json",
        run_id: "gru-1",
        scope: "cell",
        config_hash: HASH,
        score: 0.5,
        promoted_at: "2026-01-31T12:00:00.000Z",
        rmse: 0.5,
      },
      history_key: `cell/${HASH}/promotion-2026-01-31T12-00-00-000Z.json`,
    });
  });

  it("a declined decision names the winner but carries no pointer and no history key", () => {
    const d = buildDecisionRecord(base(false));
    expect(d.winner?.run_id).toBe("gru-1");
    expect(d).toMatchObject({ promoted: false, pointer: null, history_key: null });
  });
});
