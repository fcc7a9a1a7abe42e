// The module a widget model carries in place of its whole front end: it imports the front end
// from the kernel's one bundle model (conpty_widget/bundle.py), so that a notebook saved with
// widget state stores the bundle once, however many terminals it shows.
import type { AnyModel } from "@anywidget/types";

interface BundleModel {
  get(name: "code"): string;
}
interface Module {
  initialize?(props: unknown): unknown;
  render(props: unknown): unknown;
}
type Props = { model: AnyModel<{ _bundle: string | BundleModel }> } & Record<string, unknown>;

/** The front ends imported in this page, by bundle model id: each is parsed once. */
const loaded: Map<string, Promise<Module>> = ((globalThis as any).__conptyWidgetBundles ??= new Map());

function load(model: Props["model"]): Promise<Module> {
  const ref = model.get("_bundle");
  if (typeof ref !== "string") return importCode(ref.get("code")); // a manager that resolves references
  const id = ref.replace(/^IPY_MODEL_/, "");
  const known = loaded.get(id);
  if (known) return known;
  const module: Promise<Module> = (model as any).widget_manager
    .get_model(id)
    .then((bundle: BundleModel) => importCode(bundle.get("code")));
  loaded.set(id, module);
  module.catch(() => loaded.delete(id)); // a later view may try again
  return module;
}

async function importCode(code: string): Promise<Module> {
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  try {
    return (await import(/* @vite-ignore */ url)).default;
  } finally {
    URL.revokeObjectURL(url);
  }
}

export default {
  async initialize(props: Props) {
    return (await load(props.model)).initialize?.(props);
  },
  async render(props: Props) {
    return (await load(props.model)).render(props);
  },
};
