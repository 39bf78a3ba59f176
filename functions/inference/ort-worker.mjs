// @ts-check
/**
 * The onnxruntime thread: onnxruntime-node runs a session synchronously on the calling thread, so
 * sessions live here and the HTTP thread only posts inputs and receives outputs.
 * Plain JavaScript so it loads the same way under tsx, vitest and the bundled container.
 */
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";

/** @type {Map<number, ort.InferenceSession>} */
const sessions = new Map();
const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);

/** @param {any} message */
async function handle(message) {
  switch (message.op) {
    case "create": {
      const session = await ort.InferenceSession.create(message.onnx, message.options);
      sessions.set(message.session, session);
      return { inputNames: session.inputNames, outputNames: session.outputNames };
    }
    case "run": {
      const session = sessions.get(message.session);
      if (!session) throw new Error(`no session ${message.session}`);
      /** @type {Record<string, ort.Tensor>} */
      const feeds = {};
      for (const input of message.inputs)
        feeds[input.name] = new ort.Tensor(input.type, input.data, input.dims);
      const out = await session.run(feeds, message.outputs);
      return message.outputs.map((/** @type {string} */ name) => {
        const tensor = out[name];
        if (!tensor) throw new Error(`no output ${name}`);
        return tensor.data;
      });
    }
    case "release": {
      await sessions.get(message.session)?.release();
      sessions.delete(message.session);
      return null;
    }
    default:
      throw new Error(`unknown op ${message.op}`);
  }
}

port.on("message", (message) => {
  handle(message).then(
    (result) => port.postMessage({ id: message.id, result }),
    (error) =>
      port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
