import type { AppContext } from "../context";
export function render(root: HTMLElement, _ctx: AppContext): void { root.textContent = "Staking: coming soon."; }
