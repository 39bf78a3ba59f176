/**
 * Which model serves which identifier. A scope (an identifier with its own pointer, or `global`)
 * holds one serving model; swapping replaces it atomically and retires the old one, whose in-flight
 * requests finish on it before its session is released. The default identifier's scope is pinned;
 * other scopes live in an LRU bounded by `maxSessions`.
 */
import type { ModelSelectedMessage, PromotionPointer, ScoreboardEntry } from "../common/contracts.ts";
import type { Logger } from "../common/log.ts";
import { type BatcherSettings, MicroBatcher, type QueueBudget } from "./batcher.ts";
import { ForecastTally } from "./forecast-tally.ts";
import { Lru } from "./lru.ts";
import type { InferenceMetrics } from "./metrics.ts";
import { LoadedModel } from "./model.ts";
import type { ModelRef, ModelStore, ResolvedPointer } from "./model-source.ts";
import { noModel, unavailable, unknownIdentifier } from "./problem.ts";

export interface Serving {
  model: LoadedModel;
  batcher: MicroBatcher;
  pointer: PromotionPointer | null;
  scoreboard: ScoreboardEntry[] | null;
}

export interface RegistrySettings {
  defaultIdentifier: string;
  globalFallback: boolean;
  /** Sessions for scopes other than the default one. */
  maxSessions: number;
  /** 0: no polling. */
  pointerPollMs: number;
  intraOpThreads: number;
  ortWorker: boolean;
  batching: Pick<BatcherSettings, "maxBatch" | "windowMs" | "ttlMs">;
}

export type SwapTrigger = "startup" | "request" | "message" | "poll";

const RETRY_MS = 1_000;
/** How long an identifier's resolution (own scope, global, or none) is trusted. */
const SCOPE_TTL_MS = 5_000;

interface ScopeEntry {
  scope: string | null;
  expires: number;
}

export class ModelRegistry {
  private defaultScope: string | null = null;
  private defaultServing: Serving | null = null;
  private readonly others: Lru<string, Serving>;
  private readonly scopes = new Lru<string, ScopeEntry>(10_000);
  /** Per-scope chain of loads, so two triggers never load the same scope at once. */
  private readonly loading = new Map<string, Promise<Serving | null>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly forecastTally: ForecastTally;

  constructor(
    private readonly source: ModelStore,
    private readonly settings: RegistrySettings,
    private readonly budget: QueueBudget,
    private readonly metrics: InferenceMetrics,
    private readonly logger: Logger,
  ) {
    this.others = new Lru(settings.maxSessions, (_scope, serving) => this.retire(serving));
    this.forecastTally = new ForecastTally(logger);
  }

  get ready(): boolean {
    return this.defaultServing !== null;
  }

  get defaultIdentifier(): string {
    return this.settings.defaultIdentifier;
  }

  /**
   * Loads the default model in the background (retrying until a pointer exists) and starts polling;
   * the promise resolves once the default model serves or the registry stops.
   */
  start(): Promise<void> {
    this.forecastTally.start();
    if (this.settings.pointerPollMs > 0) this.schedulePoll();
    return this.loadDefaultUntilReady();
  }

  /** The serving model for a request's identifier; throws a Problem (400 unknown, 503 not loaded). */
  async lookup(identifier: string | undefined): Promise<Serving> {
    const id = identifier ?? this.settings.defaultIdentifier;
    if (id === this.settings.defaultIdentifier) {
      if (this.defaultServing) return this.defaultServing;
      throw noModel(id);
    }
    const now = Date.now();
    let entry = this.scopes.peek(id);
    if (!entry || entry.expires < now) {
      let resolved: ResolvedPointer | null;
      try {
        resolved = await this.source.resolve(id, this.settings.globalFallback);
      } catch (error) {
        this.logger.warn("pointer_resolve_failed", { identifier: id, error: String(error) });
        throw unavailable(`the promotion pointer for '${id}' cannot be read`);
      }
      entry = { scope: resolved?.scope ?? null, expires: now + SCOPE_TTL_MS };
      this.scopes.set(id, entry);
      if (resolved) return this.servingFor(resolved);
    }
    if (entry.scope === null) throw unknownIdentifier(id);
    if (entry.scope === this.defaultScope && this.defaultServing) return this.defaultServing;
    const serving = this.others.get(entry.scope);
    if (serving) return serving;
    const resolved = await this.source.resolve(id, this.settings.globalFallback).catch(() => null);
    if (!resolved) throw unknownIdentifier(id);
    return this.servingFor(resolved);
  }

  private async servingFor(resolved: ResolvedPointer): Promise<Serving> {
    if (resolved.scope === this.defaultScope && this.defaultServing) return this.defaultServing;
    const existing = this.others.get(resolved.scope);
    if (existing) return existing;
    try {
      const serving = await this.load(resolved.scope, resolved.pointer, "request", false);
      if (serving) return serving;
    } catch (error) {
      this.logger.error("model_load_failed", { scope: resolved.scope, error: String(error) });
    }
    throw unavailable(`the model for '${resolved.scope}' cannot be loaded`);
  }

  /** The default identifier's serving model, if loaded. */
  get defaultModel(): Serving | null {
    return this.defaultServing;
  }

  /** A promotion heard on Kafka: swap that identifier's model, then re-read every other pointer. */
  async onModelSelected(message: ModelSelectedMessage): Promise<void> {
    const id = message.identifier;
    this.scopes.delete(id);
    const servesId =
      id === this.settings.defaultIdentifier ||
      id === this.defaultScope ||
      this.others.peek(id) !== undefined;
    if (servesId) {
      const forDefault = id === this.settings.defaultIdentifier || id === this.defaultScope;
      await this.load(id, message, "message", forDefault, message.scoreboard).catch((error: unknown) => {
        this.logger.error("model_load_failed", { scope: id, run_id: message.run_id, error: String(error) });
      });
    }
    // The message's own scope is not re-read: its pointer may not be written yet.
    await this.refresh("message", id);
  }

  /** Re-reads the pointer of every loaded scope (but `skip`) and swaps where the promoted run changed. */
  async refresh(trigger: SwapTrigger, skip?: string): Promise<void> {
    const tasks: Promise<unknown>[] = [];
    if (skip !== this.settings.defaultIdentifier) tasks.push(this.refreshDefault(trigger));
    for (const scope of [...this.others.keys()]) {
      if (scope === skip) continue;
      tasks.push(
        this.source
          .readPointer(scope)
          .then((pointer) => (pointer ? this.load(scope, pointer, trigger, false) : null)),
      );
    }
    const results = await Promise.allSettled(tasks);
    for (const result of results) {
      if (result.status === "rejected") {
        this.logger.warn("pointer_refresh_failed", { trigger, error: String(result.reason) });
      }
    }
  }

  private async refreshDefault(trigger: SwapTrigger): Promise<Serving | null> {
    const resolved = await this.source.resolve(this.settings.defaultIdentifier, this.settings.globalFallback);
    if (!resolved) return null;
    return this.load(resolved.scope, resolved.pointer, trigger, true);
  }

  private async loadDefaultUntilReady(): Promise<void> {
    while (!this.stopped && !this.defaultServing) {
      try {
        if (await this.refreshDefault("startup")) return;
        this.logger.info("model_pointer_missing", { identifier: this.settings.defaultIdentifier });
      } catch (error) {
        this.logger.warn("model_load_failed", {
          identifier: this.settings.defaultIdentifier,
          error: String(error),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
    }
  }

  private schedulePoll(): void {
    this.timer = setTimeout(() => {
      void this.refresh("poll").finally(() => {
        if (!this.stopped) this.schedulePoll();
      });
    }, this.settings.pointerPollMs);
    this.timer.unref();
  }

  /**
   * Loads `ref` into `scope` (for the default identifier, or into the LRU of other scopes) unless
   * that run already serves it there; loads of one scope run one at a time.
   */
  private load(
    scope: string,
    ref: ModelRef & { model_type?: string },
    trigger: SwapTrigger,
    forDefault: boolean,
    scoreboard: ScoreboardEntry[] | null = null,
  ): Promise<Serving | null> {
    const previous = this.loading.get(scope) ?? Promise.resolve(null);
    const next = previous
      .catch(() => null)
      .then(async () => {
        const serving = forDefault
          ? this.defaultScope === scope
            ? this.defaultServing
            : null
          : (this.others.peek(scope) ?? null);
        if (serving?.model.identity.run_id === ref.run_id) return serving;
        if (this.stopped) return null;
        return this.swapIn(scope, ref, trigger, forDefault, scoreboard);
      });
    this.loading.set(scope, next);
    const forget = () => this.loading.get(scope) === next && this.loading.delete(scope);
    next.then(forget, forget);
    return next;
  }

  private async swapIn(
    scope: string,
    ref: ModelRef & { model_type?: string },
    trigger: SwapTrigger,
    isDefault: boolean,
    scoreboard: ScoreboardEntry[] | null,
  ): Promise<Serving> {
    const started = performance.now();
    const { card, onnx } = await this.source.fetch(ref);
    const model = await LoadedModel.create(
      { scope, run_id: ref.run_id, model_type: card.model_type, model_uri: ref.model_uri },
      card,
      onnx,
      { intraOpThreads: this.settings.intraOpThreads, worker: this.settings.ortWorker },
    );
    const batcher = new MicroBatcher(
      model.forecastAll,
      { ...this.settings.batching, ...model.sizes },
      this.budget,
      ({ windows, jobs }) => {
        this.metrics.batchSize.observe(windows);
        this.forecastTally.observe(model.identity, windows, jobs);
      },
    );
    const pointer = "scope" in ref ? (ref as PromotionPointer) : null;
    const serving: Serving = { model, batcher, pointer, scoreboard };
    const old = isDefault ? this.defaultServing : (this.others.peek(scope) ?? null);
    if (isDefault) {
      // `old` may belong to another scope: the default identifier moved (e.g. from `global` to its own).
      this.defaultScope = scope;
      this.defaultServing = serving;
    } else {
      this.others.set(scope, serving);
    }
    this.metrics.modelServed(model.identity);
    this.metrics.swaps.inc({ trigger });
    this.logger.info("model_swapped", {
      scope,
      run_id: ref.run_id,
      model_type: card.model_type,
      previous_run_id: old?.model.identity.run_id ?? null,
      trigger,
      load_ms: Math.round(performance.now() - started),
    });
    if (old && old !== this.defaultServing) this.retire(old);
    return serving;
  }

  private retire(serving: Serving): void {
    this.metrics.modelRetired(serving.model.identity);
    void serving.model.retire();
  }

  /**
   * Stops polling and retires every model: each session is released once its last lease is
   * returned. Does not wait for that, so a request stuck past the drain cannot block shutdown.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.forecastTally.stop();
    await Promise.allSettled([...this.loading.values()]);
    const all = [...this.others.values()];
    if (this.defaultServing) all.push(this.defaultServing);
    for (const serving of all) this.retire(serving);
  }
}
