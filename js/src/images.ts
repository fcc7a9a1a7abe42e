// Images in the terminal: sixel and iTerm2's inline images (xterm's image addon), within a memory cap.
import { type IImageAddonOptions, ImageAddon } from "@xterm/addon-image";
import type { Terminal } from "@xterm/xterm";
import type { Disposable } from "./protocol";

/** Largest image, in pixels, whatever the cap (4096 x 4096). */
export const MAX_PIXELS = 4096 * 4096;

/** The addon's options for a cap of ``memoryMb`` MiB of decoded images (RGBA, 4 bytes a pixel):
 * the oldest images go first past it, and no single image may be bigger than the cap. */
export function imageOptions(memoryMb: number): IImageAddonOptions {
  const mb = Number.isFinite(memoryMb) && memoryMb > 0 ? memoryMb : 1;
  const pixels = Math.min(MAX_PIXELS, Math.floor((mb * 2 ** 20) / 4));
  return {
    storageLimit: mb,
    pixelLimit: pixels,
    // Encoded sizes: a sixel needs about a byte per pixel at most, a base64 PNG 4/3 of its file.
    sixelSizeLimit: Math.min(25_000_000, pixels * 2),
    iipSizeLimit: Math.min(20_000_000, pixels * 2),
    showPlaceholder: true,
  };
}

/** Load the image addon while ``enabled()``, with the cap ``memoryMb()``; call ``refresh()`` when either changes. */
export function attachImages(term: Terminal, enabled: () => boolean, memoryMb: () => number): Disposable & { refresh(): void } {
  let addon: ImageAddon | undefined;
  let limit = 0;
  const refresh = () => {
    const mb = memoryMb();
    if (addon && (!enabled() || mb !== limit)) {
      // A new pixel limit needs a new addon (the images already shown go with the old one).
      addon.dispose();
      addon = undefined;
    }
    if (!addon && enabled()) {
      limit = mb;
      addon = new ImageAddon(imageOptions(mb));
      term.loadAddon(addon);
    }
  };
  refresh();
  return {
    refresh,
    dispose() {
      addon?.dispose();
      addon = undefined;
    },
  };
}
