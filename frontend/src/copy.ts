/** A "copy to clipboard" button (falls back to selecting a prompt where the clipboard API
 * is unavailable, e.g. plain http on another host). */

import type { AppContext } from "./context";
import { h } from "./dom";

export function copyButton(ctx: AppContext, text: string, label = "Copy"): HTMLButtonElement {
  return h(
    "button",
    {
      class: "copy",
      "data-copy": text,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          ctx.notify("success", "Copied to the clipboard.");
        } catch {
          window.prompt("Copy this:", text);
        }
      },
    },
    label,
  );
}
