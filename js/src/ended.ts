// An ended terminal's outputs become its last screen in the page's notebook. The kernel updates
// the outputs it showed the terminal in by their display ids; an output loaded from a file (the
// page was reloaded, the notebook reopened while its kernel lived) has no display id, so the
// kernel also sends ``ended`` on the comm, and here the notebook's outputs that show this widget
// are replaced with that last screen. Where the widget manager has no notebook (VS Code, Voilà,
// nbclassic), nothing is replaced: the README says so.
import type { AnyModel } from "@anywidget/types";
import type { Disposable, Model } from "./protocol";

const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";

/** The kernel's ``ended`` message: the widget's model id and the output it becomes. */
export interface Ended {
  type: "ended";
  model_id: string;
  data: Record<string, string>;
  metadata: Record<string, unknown>;
}

export function isEnded(msg: unknown): msg is Ended {
  if (typeof msg !== "object" || msg === null) return false;
  const m = msg as Record<string, unknown>;
  return m.type === "ended" && typeof m.model_id === "string" && typeof m.data === "object" && m.data !== null;
}

/** What this needs of a JupyterLab / Notebook 7 notebook model (``context.model``). */
interface OutputList {
  length: number;
  get(index: number): { data: Record<string, unknown> };
  set(index: number, output: { output_type: string; data: Record<string, string>; metadata: Record<string, unknown> }): void;
}
export interface NotebookLike {
  cells: { length: number; get(index: number): { outputs?: OutputList } };
}

/** Replace every output of ``notebook`` that shows the widget of ``ended.model_id`` with the
 * ended terminal's output; return how many. */
export function replaceOutputs(notebook: NotebookLike, ended: Ended): number {
  let replaced = 0;
  for (let i = 0; i < notebook.cells.length; i++) {
    const outputs = notebook.cells.get(i).outputs;
    if (!outputs) continue; // not a code cell
    for (let j = 0; j < outputs.length; j++) {
      const view = outputs.get(j).data[WIDGET_VIEW] as { model_id?: unknown } | undefined;
      if (view?.model_id !== ended.model_id) continue;
      outputs.set(j, { output_type: "display_data", data: ended.data, metadata: ended.metadata });
      replaced++;
    }
  }
  return replaced;
}

/** Once per widget model: listen for ``ended`` and replace the notebook's outputs. */
export function replaceWhenEnded(model: AnyModel<Model>): Disposable {
  const onMessage = (msg: unknown) => {
    if (!isEnded(msg)) return;
    const notebook = (model as unknown as { widget_manager?: { context?: { model?: NotebookLike } } }).widget_manager
      ?.context?.model;
    if (notebook?.cells) replaceOutputs(notebook, msg);
  };
  model.on("msg:custom", onMessage);
  return { dispose: () => model.off("msg:custom", onMessage) };
}
