// Unit tests of the asciicast parser and the replay's timeline (no DOM).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCast, timeline } from "../src/cast";

const HEADER = JSON.stringify({ version: 2, width: 80, height: 24, idle_time_limit: 2 });

test("a cast parses into its header and events", () => {
  const cast = parseCast(`${HEADER}\n[0.5, "o", "a"]\n[1.0, "r", "100x30"]\n\n`);
  assert.equal(cast.header.width, 80);
  assert.deepEqual(cast.events, [[0.5, "o", "a"], [1.0, "r", "100x30"]]);
});

test("anything but an asciicast v2 is refused, naming the line", () => {
  assert.throws(() => parseCast(""), /empty/);
  assert.throws(() => parseCast(JSON.stringify({ version: 1, width: 80, height: 24 })), /asciicast v2/);
  assert.throws(() => parseCast(`${HEADER}\n[0.5, "o"]`), /line 2/);
});

test("pauses longer than the idle limit are cut to it", () => {
  const events = parseCast(`${HEADER}\n[1, "o", "a"]\n[10, "o", "b"]\n[10.5, "o", "c"]`).events;
  assert.deepEqual(timeline(events, 3), [1, 4, 4.5]);
  assert.deepEqual(timeline(events, null, { version: 2, width: 1, height: 1, idle_time_limit: 2 }), [1, 3, 3.5]);
  assert.deepEqual(timeline(events, null), [1, 10, 10.5]);
});

test("times out of order never run backwards", () => {
  const events = parseCast(`${HEADER}\n[2, "o", "a"]\n[1, "o", "b"]\n[3, "o", "c"]`).events;
  assert.deepEqual(timeline(events, null), [2, 2, 3]);
});
