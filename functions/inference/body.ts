/**
 * Reading request bodies straight from Node's IncomingMessage when the service runs on
 * @hono/node-server (no web-stream Request is built, which dominates the cost of small JSON
 * requests), enforcing the byte limit on the declared and the actual length.
 */
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import { bodyTimeout, bodyTooLarge, clientAborted, malformedJson, type Problem } from "./problem.ts";

function incomingOf(c: Context): HttpBindings["incoming"] | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming;
}

/**
 * A request header (`name` in lower case) as `incoming.headers` has it (repeated `content-length`:
 * the first; other repeated headers: joined with ", "), read from `rawHeaders` on Node, since
 * `incoming.headers` builds the whole header object on first use.
 */
export function headerOf(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const raw = incoming.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length !== name.length || (key !== name && key.toLowerCase() !== name)) continue;
    if (value === undefined) value = raw[i + 1] as string;
    else if (name === "content-length") break;
    else value = `${value}, ${raw[i + 1]}`;
  }
  return value;
}

export async function readBody(c: Context, limit: number, timeoutMs: number): Promise<string> {
  const incoming = incomingOf(c);
  const declared = Number(headerOf(c, "content-length"));
  if (declared > limit) throw bodyTooLarge(limit);
  if (!incoming) {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > limit) throw bodyTooLarge(limit);
    return Buffer.from(bytes).toString("utf8");
  }
  // The handler runs from the parser's headers callback; once it yields, the parser has passed on
  // the body bytes it was given, so a body that came with its headers (the usual small request) is
  // buffered whole: it is taken in one read, without switching the stream to flowing mode.
  await undefined;
  if (declared > 0 && incoming.readableLength === declared && incoming.readableFlowing !== true) {
    // A paused stream's read() returns everything buffered, as one Buffer.
    const buffered = incoming.read() as Buffer | null;
    if (buffered !== null) {
      if (buffered.length > limit) throw bodyTooLarge(limit);
      return buffered.toString("utf8");
    }
  }
  return streamBody(incoming, limit, timeoutMs);
}

/** The rest of a body that did not come with its headers: at most `limit` bytes within `timeoutMs`. */
function streamBody(incoming: HttpBindings["incoming"], limit: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Problem | null) => {
      clearTimeout(timer);
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onGone);
      incoming.off("close", onGone);
      if (error) {
        // Unread bytes are discarded; a 408 closes the connection (Connection: close).
        incoming.resume();
        reject(error);
      } else
        resolve(
          chunks.length === 1
            ? (chunks[0] as Buffer).toString("utf8")
            : Buffer.concat(chunks).toString("utf8"),
        );
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(bodyTooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => settle(null);
    // An error (ECONNRESET "aborted") or a close before the end: the client went away.
    const onGone = () => settle(clientAborted());
    const timer = setTimeout(() => settle(bodyTimeout(timeoutMs)), timeoutMs);
    incoming.on("data", onData);
    incoming.once("end", onEnd);
    incoming.once("error", onGone);
    incoming.once("close", onGone);
  });
}

/**
 * After a body taken in one read: once the parser has seen the end of the message, one more read
 * ends the stream, so @hono/node-server need not drain the request (a timer and three listeners).
 */
export function endBody(c: Context): void {
  const incoming = incomingOf(c);
  if (incoming?.complete && !incoming.readableEnded && incoming.readableLength === 0) incoming.read();
}

export async function readJson(c: Context, limit: number, timeoutMs: number): Promise<unknown> {
  const text = await readBody(c, limit, timeoutMs);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformedJson((error as Error).message);
  }
}
