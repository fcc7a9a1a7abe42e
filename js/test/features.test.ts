// Unit tests of the view's features' pure logic: the WebGL budget, the OSC 52 policy, options.
import assert from "node:assert/strict";
import { test } from "node:test";
import { osc52 } from "../src/clipboard";
import { MAX_PIXELS, imageOptions } from "../src/images";
import { WebglBudget, isSoftwareRenderer, wantsWebgl } from "../src/renderer";
import { isFindChord, isLightColor, matchCount } from "../src/search";
import { TITLE_MAX, cleanTitle, progressLook } from "../src/title";
import { FONT_DEFAULT, FONT_MAX, FONT_MIN, zoomStep, zoomed } from "../src/zoom";

/** A budget whose views record their grants. */
function budget(limit: number, ids: string[]) {
  const b = new WebglBudget(limit);
  const log: string[] = [];
  for (const id of ids) b.add(id, (granted) => log.push(`${granted ? "+" : "-"}${id}`));
  const held = () => ids.filter((id) => b.granted(id));
  return { b, log, held };
}

test("the budget grants WebGL to visible views that want it, at most its limit", () => {
  const { b, held } = budget(2, ["a", "b", "c"]);
  for (const id of ["a", "b", "c"]) b.update(id, { wants: true });
  assert.deepEqual(held(), [], "none is visible yet");
  for (const id of ["a", "b", "c"]) b.update(id, { visible: true });
  assert.deepEqual(held(), ["a", "b"], "the first two keep theirs: no flicker when c scrolls in");
  b.update("a", { visible: false });
  assert.deepEqual(held(), ["b", "c"], "a's context goes to c");
});

test("a focused view takes a context from the least recently shown one, and gives it back first", () => {
  const { b, log, held } = budget(2, ["a", "b", "c"]);
  for (const id of ["a", "b", "c"]) b.update(id, { wants: true, visible: true });
  assert.deepEqual(held(), ["a", "b"]);
  log.length = 0;
  b.update("c", { focused: true });
  assert.deepEqual(held(), ["b", "c"]);
  assert.deepEqual(log, ["-a", "+c"], "revoked before granted: the page never holds limit + 1");
});

test("a view that stops wanting WebGL (a lost context, renderer='dom') frees its slot; removal too", () => {
  const { b, held } = budget(1, ["a", "b"]);
  b.update("a", { wants: true, visible: true });
  b.update("b", { wants: true, visible: true });
  assert.deepEqual(held(), ["a"]);
  b.update("a", { wants: false });
  assert.deepEqual(held(), ["b"]);
  b.remove("b");
  b.update("a", { wants: true });
  assert.deepEqual(held(), ["a"]);
});

test("auto uses WebGL on a GPU only; webgl also in software; none without WebGL2", () => {
  assert.equal(wantsWebgl("auto", "hardware"), true);
  assert.equal(wantsWebgl("auto", "software"), false);
  assert.equal(wantsWebgl("webgl", "software"), true);
  assert.equal(wantsWebgl("webgl", "none"), false);
  assert.equal(wantsWebgl("dom", "hardware"), false);
  assert.equal(isSoftwareRenderer("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)"), true);
  assert.equal(isSoftwareRenderer("llvmpipe (LLVM 15.0.6, 256 bits)"), true);
  assert.equal(isSoftwareRenderer("ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0)"), false);
});

test("OSC 52: writes to any selection land; reads never; malformed is nothing", () => {
  assert.deepEqual(osc52("c;aGk="), { kind: "write", selection: "c" });
  assert.deepEqual(osc52(";aGk="), { kind: "write", selection: "" }, "tmux names no selection");
  assert.deepEqual(osc52("s0;aGk="), { kind: "write", selection: "s0" });
  assert.deepEqual(osc52("c;?"), { kind: "read" });
  assert.deepEqual(osc52("p;?"), { kind: "read" });
  assert.deepEqual(osc52(";?"), { kind: "read" });
  assert.deepEqual(osc52("aGk="), { kind: "invalid" });
  assert.deepEqual(osc52("x;aGk="), { kind: "invalid" });
});

test("image options: the cap bounds the storage and any single image", () => {
  const small = imageOptions(4);
  assert.equal(small.storageLimit, 4);
  assert.equal(small.pixelLimit, 2 ** 20, "4 MiB of RGBA is a megapixel");
  assert.equal(imageOptions(1024).pixelLimit, MAX_PIXELS);
  assert.equal(imageOptions(Number.NaN).storageLimit, 1);
});

test("find chord, match count, light backgrounds", () => {
  const key = (key: string, mods: Partial<Record<"ctrlKey" | "metaKey" | "shiftKey" | "altKey", boolean>>) => ({
    key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods,
  });
  assert.equal(isFindChord(key("F", { ctrlKey: true, shiftKey: true })), true);
  assert.equal(isFindChord(key("f", { metaKey: true, shiftKey: true })), true);
  assert.equal(isFindChord(key("f", { ctrlKey: true })), false, "Ctrl+F is the shell's ^F");
  assert.equal(matchCount(2, 12, 1000), "3/12");
  assert.equal(matchCount(-1, 1000, 1000), "1000+ matches");
  assert.equal(matchCount(-1, 0, 1000), "No results");
  assert.equal(isLightColor("rgb(255, 255, 255)"), true);
  assert.equal(isLightColor("rgb(17, 17, 17)"), false);

  assert.equal(zoomStep(key("=", { ctrlKey: true })), 1);
  assert.equal(zoomStep(key("+", { ctrlKey: true, shiftKey: true })), 1);
  assert.equal(zoomStep(key("-", { ctrlKey: true })), -1);
  assert.equal(zoomStep(key("_", { ctrlKey: true, shiftKey: true })), undefined, "Ctrl+Shift+- is emacs's C-_");
  assert.equal(zoomStep(key("0", { metaKey: true })), 0);
  assert.equal(zoomStep(key("0", { ctrlKey: true, altKey: true })), undefined, "AltGr is Ctrl+Alt");
  assert.equal(zoomStep(key("=", {})), undefined);
});

test("zoom steps a point at a time within the bounds; 0 is the default", () => {
  assert.equal(zoomed(13, 1), 14);
  assert.equal(zoomed(FONT_MAX, 1), FONT_MAX);
  assert.equal(zoomed(FONT_MIN, -1), FONT_MIN);
  assert.equal(zoomed(30, 0), FONT_DEFAULT);
});

test("titles lose control characters and are cut at TITLE_MAX; progress states look their part", () => {
  assert.equal(cleanTitle("vim\u0007 ~/x\u009b"), "vim ~/x");
  assert.equal(cleanTitle("é".repeat(TITLE_MAX + 5)).length, TITLE_MAX);
  assert.deepEqual(progressLook({ state: 1, value: 40 }), { hidden: false, kind: "normal", width: 40 });
  assert.deepEqual(progressLook({ state: 2, value: 0 }), { hidden: false, kind: "error", width: 100 });
  assert.deepEqual(progressLook({ state: 3, value: 7 }), { hidden: false, kind: "indeterminate", width: 100 });
  assert.deepEqual(progressLook({ state: 0, value: 50 }).hidden, true);
  assert.equal(progressLook({ state: 1, value: 250 }).width, 100);
});
