/**
 * Where onnxruntime runs. onnxruntime-node executes `run` synchronously on the calling thread: by
 * default that is the HTTP thread (the least CPU per forecast); with `worker` the sessions live on
 * one worker thread (ort-worker.mjs) and the HTTP thread only exchanges typed arrays with it.
 */
import { Worker } from "node:worker_threads";
import * as ort from "onnxruntime-node";

export interface SessionOptions {
  intraOpThreads: number;
  /** Run on the onnxruntime worker thread instead of the calling thread. */
  worker: boolean;
}

export interface Feed {
  name: string;
  type: "float32" | "float64";
  data: Float32Array | Float64Array;
  dims: number[];
}

export interface ForecastSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The named outputs' data, in the order asked. */
  run(inputs: Feed[], outputs: readonly string[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

const ortOptions = (options: SessionOptions): ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: options.intraOpThreads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});

export function createSession(onnx: Uint8Array, options: SessionOptions): Promise<ForecastSession> {
  return options.worker ? sessionHost().create(onnx, options) : createLocalSession(onnx, options);
}

async function createLocalSession(onnx: Uint8Array, options: SessionOptions): Promise<ForecastSession> {
  const session = await ort.InferenceSession.create(onnx, ortOptions(options));
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(inputs, outputs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const input of inputs) feeds[input.name] = new ort.Tensor(input.type, input.data, input.dims);
      const out = await session.run(feeds, outputs as string[]);
      return outputs.map((name) => out[name]?.data as Float32Array);
    },
    release: () => session.release(),
  };
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** The worker thread that owns every worker-side session of this process. */
class SessionHost {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextSession = 1;

  constructor() {
    this.worker = new Worker(new URL("./ort-worker.mjs", import.meta.url));
    this.worker.on("message", (message: { id: number; result?: unknown; error?: string }) => {
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) call.reject(new Error(message.error));
      else call.resolve(message.result);
    });
    this.worker.on("error", (error) => this.failAll(error));
    this.worker.on("exit", (code) => {
      this.failAll(new Error(`onnxruntime worker exited with code ${code}`));
      host = null;
    });
    this.refresh();
  }

  /** The worker keeps the process alive only while calls are outstanding. */
  private refresh(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }

  private call<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    this.worker.postMessage({ ...message, id });
    this.refresh();
    return promise.finally(() => this.refresh());
  }

  async create(onnx: Uint8Array, options: SessionOptions): Promise<ForecastSession> {
    const session = this.nextSession++;
    const names = await this.call<{ inputNames: string[]; outputNames: string[] }>({
      op: "create",
      session,
      onnx,
      options: ortOptions(options),
    });
    return {
      inputNames: names.inputNames,
      outputNames: names.outputNames,
      run: (inputs, outputs) => this.call<Float32Array[]>({ op: "run", session, inputs, outputs }),
      release: () => this.call<void>({ op: "release", session }),
    };
  }
}

let host: SessionHost | null = null;
const sessionHost = (): SessionHost => {
  host ??= new SessionHost();
  return host;
};
