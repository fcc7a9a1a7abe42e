// Unit tests of js/src/ended.ts: an ended terminal's outputs in a notebook model become its last screen.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Ended, type NotebookLike, isEnded, replaceOutputs } from "../src/ended";

type Output = { output_type?: string; data: Record<string, unknown>; metadata?: Record<string, unknown> };

function notebook(cells: (Output[] | undefined)[]): NotebookLike & { cells: { items: (Output[] | undefined)[] } } {
  const items = cells;
  return {
    cells: {
      items,
      length: items.length,
      get: (i: number) => {
        const outputs = items[i];
        return {
          outputs: outputs && {
            get length() {
              return outputs.length;
            },
            get: (j: number) => outputs[j],
            set: (j: number, output: Output) => {
              outputs[j] = output;
            },
          },
        };
      },
    },
  };
}

const view = (id: string): Output => ({ data: { "application/vnd.jupyter.widget-view+json": { model_id: id }, "text/plain": "T" } });
const ended: Ended = {
  type: "ended",
  model_id: "m1",
  data: { "text/plain": "Terminal(... exited 0)", "text/html": "<pre>last</pre>" },
  metadata: { conpty_widget: { ended: true } },
};

test("every output of this widget, in any cell, becomes the last screen; others are left", () => {
  const text: Output = { data: { "text/plain": "42" } };
  const nb = notebook([[view("m1")], undefined, [text, view("m2"), view("m1")]]);
  assert.equal(replaceOutputs(nb, ended), 2);
  const [first, , third] = nb.cells.items;
  assert.deepEqual(first?.[0], { output_type: "display_data", data: ended.data, metadata: ended.metadata });
  assert.equal(third?.[0], text);
  assert.deepEqual(third?.[1], view("m2"));
  assert.deepEqual(third?.[2].data, ended.data);
  assert.equal(replaceOutputs(nb, ended), 0); // done once
});

test("only the kernel's ended message counts", () => {
  assert.ok(isEnded(ended));
  assert.ok(!isEnded({ type: "ended", data: {} }));
  assert.ok(!isEnded({ type: "output", seq: 1, offset: 0 }));
  assert.ok(!isEnded(null));
});
