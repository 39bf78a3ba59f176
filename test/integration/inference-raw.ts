/** Raw HTTP/1.1 over a loopback socket, for requests fetch cannot make (partial bodies, aborts). */
import { connect, type Socket } from "node:net";

/** Writes `text` and reads until the server closes the connection. */
export function sendRaw(port: number, text: string): Promise<{ head: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.once("error", reject);
    socket.once("close", () => resolve({ head: received, closed: true }));
  });
}

/** A connection that has sent `text` and stays open. */
export function openPartial(port: number, text: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text, () => resolve(socket)));
    socket.once("error", reject);
  });
}
