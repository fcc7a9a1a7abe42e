// Unit tests of the direct path: its framing (shared with conpty_widget/direct.py), its token.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage } from "../src/link";
import { directToken } from "../src/protocol";

test("a message is header length, JSON header, payload; and decodes back", () => {
  const payload = new Uint8Array([0, 255, 10]);
  const data = encodeMessage({ type: "input", view: "v" }, payload);
  const head = JSON.stringify({ type: "input", view: "v" });
  assert.equal(new DataView(data.buffer).getUint32(0), head.length);
  const [msg, body] = decodeMessage(data.buffer);
  assert.deepEqual(msg, { type: "input", view: "v" });
  assert.deepEqual([...body], [0, 255, 10]);
});

test("a message without payload decodes to an empty one", () => {
  const [msg, body] = decodeMessage(encodeMessage({ type: "bye" }).buffer);
  assert.deepEqual(msg, { type: "bye" });
  assert.equal(body.length, 0);
});

test("the token of the direct path is taken from the kernel's answer for this view only", () => {
  assert.equal(directToken({ type: "direct", view: "v1", token: "t" }, "v1"), "t");
  assert.equal(directToken({ type: "direct", view: "v2", token: "t" }, "v1"), undefined);
  assert.equal(directToken({ type: "direct", view: "v1" }, "v1"), undefined);
  assert.equal(directToken({ type: "output", seq: 1, offset: 0 }, "v1"), undefined);
  assert.equal(directToken(null, "v1"), undefined);
});
