// Unit test of the chord that leaves a terminal (js/src/focus.ts); the browser test is tests/browser/test_focus.py.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isLeaveChord } from "../src/focus";

const key = (k: string, mods: { shiftKey?: boolean; ctrlKey?: boolean; altKey?: boolean; metaKey?: boolean } = {}) => ({
  key: k,
  shiftKey: false,
  ctrlKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

test("Shift+Esc alone is the chord: Esc, and Esc with other keys held, stay the terminal's", () => {
  assert.equal(isLeaveChord(key("Escape", { shiftKey: true })), true);
  assert.equal(isLeaveChord(key("Escape")), false);
  assert.equal(isLeaveChord(key("Escape", { shiftKey: true, ctrlKey: true })), false);
  assert.equal(isLeaveChord(key("Escape", { shiftKey: true, altKey: true })), false);
  assert.equal(isLeaveChord(key("Escape", { shiftKey: true, metaKey: true })), false);
  assert.equal(isLeaveChord(key("Tab", { shiftKey: true })), false);
});
