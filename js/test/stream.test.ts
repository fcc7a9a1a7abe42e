// Unit tests of the output stream (no DOM): sequence, resets, resync, acknowledgements.
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import type { ViewMessage } from "../src/protocol";
import { ACK_BYTES, ACK_LAZY_MS, ACK_SOON_BYTES, ACK_SOON_MS, OutputStream } from "../src/stream";

interface Fake {
  written: string[];
  sent: ViewMessage[];
  clears: number;
  stream: OutputStream;
}

/** A stream whose terminal parses at once and records what it was given. */
function fake(view = "v"): Fake {
  const f = { written: [] as string[], sent: [] as ViewMessage[], clears: 0 } as Fake;
  f.stream = new OutputStream(view, {
    write: (data, parsed) => {
      f.written.push(new TextDecoder().decode(data));
      parsed();
    },
    clear: () => {
      f.clears += 1;
    },
    send: (msg) => f.sent.push(msg),
  });
  return f;
}

const bytes = (text: string) => new TextEncoder().encode(text);

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
afterEach(() => mock.timers.reset());

test("chunks before our reset are stale; after it they are written in sequence", () => {
  const f = fake();
  f.stream.handle({ type: "output", seq: 1, offset: 0 }, bytes("stale"));
  f.stream.handle({ type: "reset", view: "other", seq: 1, offset: 5 }, bytes("not ours"));
  assert.deepEqual(f.written, []);
  f.stream.handle({ type: "reset", view: "v", seq: 1, offset: 5 }, bytes("screen"));
  f.stream.handle({ type: "output", seq: 2, offset: 5 }, bytes("a"));
  f.stream.handle({ type: "output", seq: 3, offset: 6 }, bytes("b"));
  assert.deepEqual(f.written, ["screen", "a", "b"]);
  assert.equal(f.clears, 1);
});

test("a gap in sequence asks for a resync and ignores chunks until the reset", () => {
  const f = fake();
  f.stream.handle({ type: "reset", view: "v", seq: 0, offset: 0 }, bytes(""));
  f.stream.handle({ type: "output", seq: 2, offset: 10 }, bytes("skipped one"));
  assert.deepEqual(f.sent, [{ type: "sync" }]);
  f.stream.handle({ type: "output", seq: 3, offset: 20 }, bytes("still stale"));
  assert.deepEqual(f.written, [""]);
  f.stream.handle({ type: "reset", view: "v", seq: 3, offset: 30 }, bytes("fresh"));
  f.stream.handle({ type: "output", seq: 4, offset: 30 }, bytes("on"));
  assert.deepEqual(f.written, ["", "fresh", "on"]);
});

test("a little echo is acknowledged lazily, or with the next input", () => {
  const f = fake();
  f.stream.handle({ type: "reset", view: "v", seq: 0, offset: 100 }, bytes(""));
  f.stream.handle({ type: "output", seq: 1, offset: 100 }, bytes("x"));
  mock.timers.tick(ACK_LAZY_MS - 1);
  assert.deepEqual(f.sent, []);
  assert.equal(f.stream.takeAck(), 101); // rides on the next key
  assert.equal(f.stream.takeAck(), undefined);
  mock.timers.tick(ACK_LAZY_MS);
  assert.deepEqual(f.sent, [], "nothing left to acknowledge");
  f.stream.handle({ type: "output", seq: 2, offset: 101 }, bytes("y"));
  mock.timers.tick(ACK_LAZY_MS);
  assert.deepEqual(f.sent, [{ type: "ack", offset: 102 }]);
});

test("a steady stream is acknowledged soon, a big one at once", () => {
  const f = fake();
  f.stream.handle({ type: "reset", view: "v", seq: 0, offset: 0 }, bytes(""));
  f.stream.handle({ type: "output", seq: 1, offset: 0 }, new Uint8Array(ACK_SOON_BYTES));
  assert.deepEqual(f.sent, []);
  mock.timers.tick(ACK_SOON_MS);
  assert.deepEqual(f.sent, [{ type: "ack", offset: ACK_SOON_BYTES }]);
  f.stream.handle({ type: "output", seq: 2, offset: ACK_SOON_BYTES }, new Uint8Array(ACK_BYTES));
  assert.deepEqual(f.sent.at(-1), { type: "ack", offset: ACK_SOON_BYTES + ACK_BYTES });
});

test("an earlier lazy timer gives way to a sooner one; restart forgets the stream", () => {
  const f = fake();
  f.stream.handle({ type: "reset", view: "v", seq: 0, offset: 0 }, bytes(""));
  f.stream.handle({ type: "output", seq: 1, offset: 0 }, bytes("k"));
  f.stream.handle({ type: "output", seq: 2, offset: 1 }, new Uint8Array(ACK_SOON_BYTES));
  mock.timers.tick(ACK_SOON_MS);
  assert.deepEqual(f.sent, [{ type: "ack", offset: 1 + ACK_SOON_BYTES }]);
  f.stream.restart();
  f.stream.handle({ type: "output", seq: 3, offset: 1 + ACK_SOON_BYTES }, bytes("stale"));
  assert.equal(f.stream.takeAck(), undefined);
  assert.equal(f.written.length, 3);
});
