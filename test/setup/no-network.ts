/**
 * Setup file of the `unit` project: a unit test that opens a socket (to Kafka, MinIO, LocalStack or
 * anything else, or listens on a port) fails at that call, naming it. Such a test is an integration test.
 */
import { Server, Socket } from "node:net";

function refuse(what: string): never {
  throw new Error(`unit tests open no sockets: ${what} (move the test to test/integration)`);
}

function address(target: unknown): string {
  if (typeof target !== "object" || target === null) return String(target);
  const { host, port, path } = target as { host?: string; port?: number; path?: string };
  return path ?? `${host ?? "localhost"}:${port}`;
}

Socket.prototype.connect = function connect(target: unknown): never {
  refuse(`connect to ${address(target)}`);
};
Server.prototype.listen = function listen(target: unknown): never {
  refuse(`listen on ${address(target)}`);
};
